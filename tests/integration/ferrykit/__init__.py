"""ferrykit: the kit Ferry's integration tests are built from (Debian's python3, stdlib only),
one concern per module, in the manner of Envoy's integration test kit. Test scripts import
what they use from the modules directly (`from ferrykit.runner import Ferry`) and end with
`main()` from suite. A fixture used by more than one test file belongs here, not copied.

  suite       the test runner (main(), skip(), per-test temporary directory, cleanup registry,
              figures, wait_until)
  config      config text: base_config() (global + defaults for tests), section(), backend_section(),
              admin_config()
  runner      Ferry: the real ferryd on a config (ports from its log, reload, stop); run_ferryd(),
              hash_password(), the /metrics scrape (scrape_metrics, parse_metrics, metric_value)
  backends    fake upstreams: HTTP/1.1 JSON echo (in-process or a child process), scripted TCP,
              WebSocket echo, TCP echo, PROXY-protocol receiver
  wire        HTTP/1 client side: request() (http.client), RawConn (raw socket + response parser),
              connect() / recv_all(), raw request reading for scripted servers, loopback ports
  ws          WebSocket framing and the client handshake
  proxyproto  PROXY protocol v1/v2 headers: build and parse
  tls         certificates with the openssl command (TlsCerts: a private PKI; self_signed()),
              client/server contexts, handshake_error()
  load        timed requests, a request flood from a child process, h2load runs
  procs       other programs run by a test (ChildProcess; PeerProcess: HAProxy, nginx), by PID
  h2frames    HTTP/2 frame constants, builders and parser
  hpack       HPACK encoder (literal fields) and full decoder
  h2client    H2Conn: a raw HTTP/2 client connection
  h2backend   H2Backend: an HTTP/2 (h2c or TLS) upstream server
  fixtures    AppSetup: one ferryd serving app "a" on plain and TLS frontends, with h2/h2c clients
  __main__    `python3 -m ferrykit http-backend|flood`: kit parts run in a child process
"""
