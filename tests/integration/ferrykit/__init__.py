"""ferrykit: the kit Ferry's integration tests are built from (Debian's python3, stdlib only),
one concern per module, in the manner of Envoy's integration test kit. Test scripts import
what they use from the modules directly (`from ferrykit.runner import Ferry`).

  suite       the test runner (main(), skip(), per-test temporary directory, cleanup registry,
              figures, wait_until)
  config      config text: base_config() (global + defaults for tests), section(), backend_section()
  runner      Ferry: the real ferryd on a config (ports from its log, reload, stop); run_ferryd()
  backends    fake upstreams: HTTP/1.1 JSON echo (in-process or a child process), scripted TCP,
              WebSocket echo, TCP echo, PROXY-protocol receiver
  wire        HTTP/1 client side: request() (http.client), RawConn (raw socket + response parser),
              raw request reading for scripted servers, loopback port helpers
  ws          WebSocket framing and the client handshake
  proxyproto  PROXY protocol v1/v2 headers: build and parse
  tls         certificates (private PKI via the openssl command), TLS contexts
  load        timed requests and a request flood from a child process
  procs       other server programs run by a test (HAProxy, nginx, ...), by PID
  h2frames    HTTP/2 frame constants, builders and parser
  hpack       HPACK encoder (literal fields) and full decoder
  h2client    H2Conn: a raw HTTP/2 client connection
  h2backend   H2Backend: an HTTP/2 (h2c or TLS) upstream server
  fixtures    AppSetup: one ferryd serving app "a" on plain and TLS frontends, with h2/h2c clients
  __main__    `python3 -m ferrykit http-backend|flood`: kit parts run in a child process
"""
