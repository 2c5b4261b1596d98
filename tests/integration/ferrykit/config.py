"""Config text for ferryd: `global` + `defaults` with test timeouts, sections, backends.

Pure functions returning strings; only base_config() needs a running test (its state-dir is
in the test's temporary directory)."""

import base64
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


def mesh_key_file(path):
    """Writes a WireGuard private key (32 random bytes, base64) to `path` (mode 0600) and
    returns a made-up public key for the peers' configs: the loopback mesh below never runs
    WireGuard, so any 32 bytes do."""
    with open(path, "w") as fh:
        fh.write(base64.b64encode(os.urandom(32)).decode() + "\n")
    os.chmod(path, 0o600)
    return base64.b64encode(os.urandom(32)).decode()


def loopback_mesh(node_backhaul, peer, peer_backhaul, key_path, peer_pub, index=0):
    """A `mesh` section of two nodes whose backhaul runs on loopback addresses: `driver
    userspace` without a program sets up no WireGuard interface (ferryd logs that). This node
    listens on `node_backhaul` ("127.0.0.2:PORT"); `peer` (region = its name) on
    `peer_backhaul`. `index` keeps two nodes' interface names apart."""
    return section("mesh", "interface fru%d" % (os.getpid() % 10000 + index),
                   "private-key %s" % key_path, "address %s/32" % node_backhaul.split(":")[0],
                   "backhaul %s" % node_backhaul, "driver userspace", "peer %s" % peer,
                   "    public-key %s" % peer_pub, "    allowed-ips 127.0.0.0/8", "    backhaul %s" % peer_backhaul,
                   "    region %s" % peer)
