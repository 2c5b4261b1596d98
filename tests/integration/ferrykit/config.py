"""Config text for ferryd: `global` + `defaults` with test timeouts, sections, backends.

Pure functions returning strings; only base_config() needs a running test (its state-dir is
in the test's temporary directory)."""

import os

from ferrykit.suite import tmpdir


def base_config(workers=2, admin=True, global_extra=(), defaults_extra=(), log_level="info"):
    """`global` + `defaults` with short timeouts suitable for tests."""
    g = ["global",
         "    node         it-node",
         "    workers      %s" % workers,
         "    state-dir    %s" % os.path.join(tmpdir(), "state"),
         "    admin        %s" % ("127.0.0.1:0" if admin else "off"),
         "    log          stderr %s" % log_level]
    g += ["    " + l for l in global_extra]
    d = ["timeout connect          1s",
         "timeout client           10s",
         "timeout server           5s",
         "timeout http-request     5s",
         "timeout http-keep-alive  5s",
         "timeout tunnel           30s",
         "timeout queue            2s",
         "timeout drain            5s",
         "retries                  2"]

    def key(line):  # "timeout server 30s" -> "timeout server"; "retries 2" -> "retries"
        w = line.split()
        return " ".join(w[:2]) if w[0] == "timeout" else w[0]
    # A directive set twice in one section is an error: defaults_extra replaces our default.
    for extra in defaults_extra:
        d = [l for l in d if key(l) != key(extra)] + [extra]
    return "\n".join(g) + "\n\ndefaults\n" + "".join("    %s\n" % l for l in d) + "\n"


def section(header, *lines):
    """A config section: header at column 0, directives indented."""
    return header + "\n" + "".join("    %s\n" % l for l in lines if l) + "\n"


def backend_section(name, servers, *lines):
    """servers: list of (server_name, port[, options]) on 127.0.0.1."""
    sl = []
    for s in servers:
        opts = (" " + s[2]) if len(s) > 2 and s[2] else ""
        sl.append("server %s 127.0.0.1:%d%s" % (s[0], s[1], opts))
    return section("backend %s" % name, *(list(lines) + sl))


def admin_config(users=(), global_extra=()):
    """A config for admin-listener tests: base_config() with `admin-user NAME HASH` for each
    (name, hash) in `users` and `global_extra` lines, one plain frontend "web" (default-app a)
    and app a on a backend that nothing listens on (127.0.0.1:9)."""
    g = ["admin-user %s %s" % u for u in users] + list(global_extra)
    cfg = base_config(global_extra=g)
    cfg += section("frontend web", "bind 127.0.0.1:0", "mode http", "default-app a")
    cfg += backend_section("pool", [("s1", 9)])
    cfg += section("app a", "hosts app.test", "backend pool")
    return cfg
