"""Interim re-exports of ferrykit (tests/integration/ferrykit/) under the old `harness` names,
while the test files move to importing the kit's modules directly."""

import http.client  # noqa: F401 (test_metrics uses H.http.client)
import os

from ferrykit.backends import (BackendProcess, HttpBackend, ProxyProtoBackend, RawBackend,  # noqa: F401
                               TcpEchoBackend, TcpServer, WsEchoBackend)
from ferrykit.config import backend_section, base_config, section  # noqa: F401
from ferrykit.load import FloodProcess, timed_request  # noqa: F401
from ferrykit.procs import PeerProcess  # noqa: F401
from ferrykit.proxyproto import parse_proxy_header, proxy_v1, proxy_v2  # noqa: F401
from ferrykit.runner import Ferry, run_ferryd, split_addr  # noqa: F401
from ferrykit.suite import (PYTHON, VERBOSE, Skip, figure, ferryd_path, main, oneline as _oneline,  # noqa: F401
                            percentile, register as _register, skip, tmpdir, wait_until)
from ferrykit.tls import TlsCerts, peer_cn  # noqa: F401
from ferrykit.wire import (Response, RawConn, connect, free_port_closed, ipv6_loopback_available,  # noqa: F401
                           read_http_request, recv_until, request, upstream_header)
from ferrykit.ws import WsReader, ws_accept_key, ws_encode, ws_handshake  # noqa: F401

HERE = os.path.dirname(os.path.abspath(__file__))
