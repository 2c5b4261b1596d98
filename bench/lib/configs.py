"""Configuration files for the upstream and for each proxy under test.

Fairness rules (see bench/README.md), applied identically to Ferry, HAProxy and nginx:
  * the same number of worker threads (`workers`, `nbthread`, `worker_processes`);
  * keep-alive to the upstream, with an idle pool large enough never to churn (1024);
  * no access log, errors only to a file in the run's temporary directory;
  * the same timeouts: connect 5s, client/server 60s, request head 10s, keep-alive 75s,
    queue 5s, tunnel 1h;
  * each adds X-Forwarded-For (Ferry always does; HAProxy `option forwardfor`, nginx
    `proxy_add_x_forwarded_for`), so every proxy rewrites the request head.
"""
import os

POOL = 1024          # idle upstream connections kept per proxy worker
MAX_FDS = 20000      # the container's hard RLIMIT_NOFILE; every proxy is told the same
# HAProxy sizes its fd table as 2 x maxconn: maxconn 10200 wants 20414 fds, over the hard limit,
# so `no strict-limits` lets it start with 20000 (enough: 10,000 clients + a few upstream).
SMALL_BODY = "hello from the upstream\n"  # 24 bytes


# -- the upstream (nginx, fixed for the whole run) ---------------------------------------------

def nginx_common(d, name):
    return """daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile {fds};
pid {d}/{name}.pid;
error_log {d}/{name}-error.log warn;
events {{ worker_connections {conns}; }}
""".format(d=d, name=name, fds=MAX_FDS, conns=MAX_FDS - 500)


def nginx_http_common(d, name):
    return """    access_log off;
    client_body_temp_path {d}/{name}-tmp/body;
    proxy_temp_path {d}/{name}-tmp/proxy;
    fastcgi_temp_path {d}/{name}-tmp/fastcgi;
    uwsgi_temp_path {d}/{name}-tmp/uwsgi;
    scgi_temp_path {d}/{name}-tmp/scgi;
""".format(d=d, name=name)


def upstream_nginx(d, port, www):
    """nginx answering `/` with a 24-byte 200, `/64k` and `/big` from files in `www`."""
    os.makedirs(os.path.join(d, "upstream-tmp"), exist_ok=True)
    return nginx_common(d, "upstream") + """http {{
{common}    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 300s;
    keepalive_requests 100000000;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {www};
        location = / {{ default_type text/plain; return 200 "{body}"; }}
        location / {{ }}
    }}
}}
""".format(common=nginx_http_common(d, "upstream"), port=port, www=www,
           body=SMALL_BODY.replace("\n", "\\n"))


# -- Ferry -------------------------------------------------------------------------------------

def ferry(d, workers, http_port, up_port, tcp_port=None, apps=None, log_level="info", tls_port=None, tls_cert=None,
          app_lines=()):
    """apps: extra text (app/backend sections) appended; the default app `a` -> backend `b`,
    with `app_lines` (directives, e.g. request rules) in its section.
    tls_port: a TLS frontend with `tls_cert` (PEM with key) as its default certificate, so the
    load tool's SNI (an IP address) gets it like HAProxy's and nginx's only certificate."""
    text = """global
    workers {w}
    admin off
    state-dir {d}/ferry-state
    log stderr {lvl}
    access-log off
    maxconn 100000

defaults
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    timeout http-keep-alive 75s
    timeout queue 5s
    timeout tunnel 1h
    retries 2

frontend web
    bind 127.0.0.1:{hp}
    default-app a

backend b
    balance roundrobin
    pool-max-idle {pool}
    server s1 127.0.0.1:{up}

app a
    hosts a.test
    backend b
""".format(w=workers, d=d, lvl=log_level, hp=http_port, up=up_port, pool=POOL)
    text += "".join("    %s\n" % l for l in app_lines)
    if tcp_port:
        text += """
frontend t
    bind 127.0.0.1:{tp}
    mode tcp
    app t

app t
    backend b
""".format(tp=tcp_port)
    if tls_port:
        text += """
frontend webtls
    bind 127.0.0.1:{tp} tls
    default-certificate {cert}
    default-app a
""".format(tp=tls_port, cert=tls_cert)
    if apps:
        text += "\n" + apps
    return text


def rules_50():
    """50 request rules that a request for `/` passes through without one matching (so every
    condition is tested): 40 path prefixes, 8 header tests, 1 regex, each a deny, and 1 header
    set. Returns (Ferry app lines, HAProxy frontend lines) that mean the same."""
    ferry, hap = [], []
    for i in range(40):
        ferry += ["acl p%d path-prefix /svc%d/" % (i, i), "deny if p%d" % i]
        hap += ["    acl p%d path_beg /svc%d/" % (i, i), "    http-request deny if p%d" % i]
    for i in range(8):
        ferry += ["acl h%d header X-Block-%d" % (i, i), "deny if h%d" % i]
        hap += ["    acl h%d req.hdr(X-Block-%d) -m found" % (i, i), "    http-request deny if h%d" % i]
    ferry += ["acl legacy path-regex ^/legacy/[0-9]+/edit$", "deny if legacy", "request-header set X-Edge ferry"]
    hap += ["    acl legacy path_reg ^/legacy/[0-9]+/edit$", "    http-request deny if legacy",
            "    http-request set-header X-Edge ferry"]
    return ferry, "".join(l + "\n" for l in hap)


def ferry_many_apps(n):
    """n apps (host appN.test) sharing backend b: the routing-scale config body."""
    return "".join("app app%d\n    hosts app%d.test\n    backend b\n" % (i, i) for i in range(n))


# -- HAProxy -----------------------------------------------------------------------------------

def haproxy(d, workers, http_port, up_port, tcp_port=None, extra_frontend="", extra="", tls_port=None, tls_cert=None):
    text = """global
    nbthread {w}
    maxconn {mc}
    no strict-limits
    pidfile {d}/haproxy.pid

defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    timeout http-keep-alive 75s
    timeout queue 5s
    timeout tunnel 1h
    retries 2
    option http-keep-alive

frontend web
    bind 127.0.0.1:{hp}
    option forwardfor
{xf}    default_backend b

backend b
    balance roundrobin
    http-reuse always
    server s1 127.0.0.1:{up}
""".format(w=workers, d=d, hp=http_port, up=up_port, mc=10200,
           xf=extra_frontend)
    if tcp_port:
        text += """
frontend t
    mode tcp
    bind 127.0.0.1:{tp}
    default_backend tb

backend tb
    mode tcp
    server s1 127.0.0.1:{up}
""".format(tp=tcp_port, up=up_port)
    if tls_port:
        text += """
frontend webtls
    bind 127.0.0.1:{tp} ssl crt {cert} alpn h2,http/1.1
    option forwardfor
    default_backend b
""".format(tp=tls_port, cert=tls_cert)
    return text + extra


# -- nginx as a reverse proxy ------------------------------------------------------------------

_NGINX_LOCATION = """        location / {
            proxy_pass http://b;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_connect_timeout 5s;
            proxy_read_timeout 60s;
            proxy_send_timeout 60s;
            proxy_next_upstream_tries 3;
            proxy_buffers 16 8k;
            proxy_max_temp_file_size 0;
        }
"""


def nginx_proxy(d, workers, http_port, up_port, tcp_port=None, tls_port=None, tls_cert=None, h2c_port=None):
    os.makedirs(os.path.join(d, "nginx-tmp"), exist_ok=True)
    text = ""
    if tcp_port:
        text += "load_module /usr/lib/nginx/modules/ngx_stream_module.so;\n"
    text += nginx_common(d, "nginx").replace("worker_processes 1;", "worker_processes %d;" % workers)
    servers = "    server {\n        listen 127.0.0.1:%d backlog=4096;\n%s    }\n" % (http_port, _NGINX_LOCATION)
    if h2c_port:  # HTTP/2 with prior knowledge: a plain `http2` listener speaks only HTTP/2
        servers += "    server {\n        listen 127.0.0.1:%d http2 backlog=4096;\n%s    }\n" % (h2c_port, _NGINX_LOCATION)
    if tls_port:  # the same proxying, over TLS (the PEM holds certificate and key)
        servers += ("    server {\n        listen 127.0.0.1:%d ssl http2 backlog=4096;\n        ssl_certificate %s;\n"
                    "        ssl_certificate_key %s;\n"
                    # nginx 1.22 enables TLS 1.0-1.2 only by default (1.3 since 1.23.4): without
                    # this line it would resume TLS 1.2 sessions (no key exchange at all) while
                    # Ferry and HAProxy resume TLS 1.3 ones with a fresh X25519 exchange.
                    "        ssl_protocols TLSv1.2 TLSv1.3;\n%s    }\n" % (tls_port, tls_cert, tls_cert, _NGINX_LOCATION))
    text += """http {{
{common}    keepalive_timeout 75s;
    keepalive_requests 100000000;
    client_header_timeout 10s;
    send_timeout 60s;
    upstream b {{
        server 127.0.0.1:{up};
        keepalive {pool};
        keepalive_requests 100000000;
        keepalive_timeout 30s;
    }}
{servers}}}
""".format(common=nginx_http_common(d, "nginx"), up=up_port, pool=POOL, servers=servers)
    if tcp_port:
        text += """stream {{
    server {{
        listen 127.0.0.1:{tp} backlog=4096;
        proxy_pass 127.0.0.1:{up};
        proxy_connect_timeout 5s;
        proxy_timeout 60s;
    }}
}}
""".format(tp=tcp_port, up=up_port)
    return text


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


# -- two hops: edge -> worker -> upstream (the `backhaul` scenario) ------------------------------

_FERRY_HOP_GLOBAL = """global
    node {node}
    region {node}
    workers {w}
    admin off
    state-dir {d}/ferry-state
    log stderr {lvl}
    access-log off
    maxconn 100000

defaults
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    timeout http-keep-alive 75s
    timeout queue 5s
    timeout tunnel 1h
    retries 2

"""

# `driver userspace` with no program: no WireGuard interface is created (the manager logs that
# the UAPI socket is missing and retries in the background); the backhaul itself listens on
# 127.0.0.x, so the two ferryd talk over loopback, HTTP/2 cleartext, as inside the mesh. The
# backhaul must be on the mesh `address`, so that is the backhaul's loopback address too.
_FERRY_HOP_MESH = """mesh
    interface {iface}
    private-key {key}
    address {mesh_addr}
    backhaul {bh}
    driver userspace
    peer {peer}
        public-key {peer_pub}
        allowed-ips 127.0.0.0/8
        backhaul {peer_bh}
        region {peer}
"""


def ferry_backhaul_worker(d, workers, bh, edge_bh, up_port, key, edge_pub, iface, log_level="info"):
    """The worker of the two-hop chain: its backhaul `bh` (127.0.0.3:PORT) serves app `a`,
    whose server `w1` is the upstream."""
    return (_FERRY_HOP_GLOBAL.format(node="worker", w=workers, d=d, lvl=log_level) + """backend b
    pool-max-idle {pool}
    server w1 127.0.0.1:{up}

app a
    hosts a.test
    backend b

""".format(pool=POOL, up=up_port) + _FERRY_HOP_MESH.format(iface=iface, key=key, mesh_addr=bh.rsplit(":", 1)[0] + "/32", bh=bh,
                                                         peer="edge", peer_pub=edge_pub, peer_bh=edge_bh))


def ferry_backhaul_edge(d, workers, http_port, bh, worker_bh, up_port, key, worker_pub, iface, log_level="info"):
    """The edge of the two-hop chain: app `a` -> server `w1` on node `worker`, reached over the
    worker's backhaul (one multiplexed HTTP/2 connection per worker thread)."""
    return (_FERRY_HOP_GLOBAL.format(node="edge", w=workers, d=d, lvl=log_level) + """frontend web
    bind 127.0.0.1:{hp}
    default-app a

backend b
    balance closest
    server w1 127.0.0.1:{up} node worker

app a
    hosts a.test
    backend b

""".format(hp=http_port, up=up_port) + _FERRY_HOP_MESH.format(iface=iface, key=key, mesh_addr=bh.rsplit(":", 1)[0] + "/32", bh=bh,
                                                             peer="worker", peer_pub=worker_pub, peer_bh=worker_bh))


def haproxy_hop(d, workers, listen, server, listen_h2=False, server_h2=False):
    """One HAProxy hop: `listen` (ADDR:PORT) -> `server` (ADDR:PORT), HTTP/2 cleartext on the
    listening side and/or towards the server when asked (HTTP/1.1 otherwise); the same
    timeouts, keep-alive and X-Forwarded-For as the single-hop HAProxy."""
    return """global
    nbthread {w}
    maxconn 10200
    no strict-limits
    pidfile {d}/haproxy.pid

defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    timeout http-keep-alive 75s
    timeout queue 5s
    timeout tunnel 1h
    retries 2
    option http-keep-alive

frontend web
    bind {listen}{lh2}
    option forwardfor
    default_backend b

backend b
    http-reuse always
    server s1 {server}{sh2}
""".format(w=workers, d=d, listen=listen, server=server, lh2=" proto h2" if listen_h2 else "",
           sh2=" proto h2" if server_h2 else "")
