"""`python3 -m ferrykit CMD`: kit parts that run in a child process of a test.

  http-backend --name N [--delay S] [--status N]   an HttpBackend; prints "PORT <port>", runs
                                                   until SIGTERM/SIGKILL (BackendProcess)
  flood --port P --host H [--clients N] [--seconds S] [--path P]
                                                   prints one JSON line of counts (FloodProcess)
"""

import os
import signal
import time

from ferrykit.backends import HttpBackend
from ferrykit.load import flood


def _cli():
    import argparse
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("http-backend")
    b.add_argument("--name", required=True)
    b.add_argument("--delay", type=float, default=0.0)
    b.add_argument("--status", type=int, default=200)
    f = sub.add_parser("flood")
    f.add_argument("--port", type=int, required=True)
    f.add_argument("--host", required=True)
    f.add_argument("--clients", type=int, default=40)
    f.add_argument("--seconds", type=float, default=5)
    f.add_argument("--path", default="/")
    a = ap.parse_args()
    if a.cmd == "http-backend":
        be = HttpBackend(a.name, delay=a.delay, status=a.status)
        print("PORT %d" % be.port, flush=True)
        # Exit when the parent goes away (stdout closed) or on a signal.
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
        while True:
            time.sleep(3600)
    elif a.cmd == "flood":
        flood(a.port, a.host, a.clients, a.seconds, a.path)


if __name__ == "__main__":
    _cli()
