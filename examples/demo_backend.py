#!/usr/bin/python3
"""A tiny demo upstream for examples/quickstart.conf (Python stdlib only).

Usage: examples/demo_backend.py NAME PORT
Answers GET /healthz with "ok" and every other request with a short text naming itself and
echoing what Ferry forwarded (client address, request id).
"""
import http.server
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ferry-demo-backend"

    def _answer(self):
        if self.path == "/healthz":
            body = b"ok\n"
        else:
            body = ("hello from %s\n"
                    "  you asked for:     %s %s (Host: %s)\n"
                    "  X-Forwarded-For:   %s\n"
                    "  Ferry-Request-Id:  %s\n" % (
                        NAME, self.command, self.path, self.headers.get("Host"),
                        self.headers.get("X-Forwarded-For"), self.headers.get("Ferry-Request-Id"))).encode()
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, fmt, *args):
        if self.path != "/healthz":
            sys.stderr.write("[%s] %s\n" % (NAME, fmt % args))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: demo_backend.py NAME PORT")
    NAME, port = sys.argv[1], int(sys.argv[2])
    http.server.ThreadingHTTPServer.daemon_threads = True
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print("%s listening on 127.0.0.1:%d" % (NAME, port), flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
