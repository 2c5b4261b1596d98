// The typed, immutable configuration snapshot produced by configlang.
//
// Ownership: a Config is built once by configlang::load() on the control thread and then
// published as std::shared_ptr<const Config>. Nothing mutates a published snapshot; every
// thread may read it concurrently. Cross references are by index into the vectors below
// (resolved and validated by the resolve pass), so a snapshot is self-contained and copyable.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ferry/configlang/rules.h"

namespace ferry::config {

using Duration = std::chrono::milliseconds;

// Where a config item came from, for diagnostics after the parse (e.g. bind errors at reload).
struct SourceLoc {
  std::string file;
  int line = 0;
  int col = 0;
};

// An IP literal and port as written. `host` is empty for ":80" (all IPv4 addresses, like
// HAProxy). Hostnames are rejected by the parser: the data plane never resolves DNS.
struct Address {
  std::string host;  // "127.0.0.1", "::1" (no brackets), or "" for the wildcard
  uint16_t port = 0;
  bool is_v6() const { return host.find(':') != std::string::npos; }
  // "127.0.0.1:80", "[::1]:80", "0.0.0.0:80" for the wildcard.
  std::string to_string() const {
    std::string h = host.empty() ? std::string("0.0.0.0") : host;
    if (is_v6()) h = "[" + h + "]";
    return h + ":" + std::to_string(port);
  }
  bool operator==(const Address&) const = default;
};

// Timeouts; every field always holds a value (defaults below, then `defaults`, then the
// section's own directives). A zero duration means "no timeout".
struct Timeouts {
  Duration connect{std::chrono::seconds(5)};
  Duration client{std::chrono::seconds(60)};
  Duration server{std::chrono::seconds(60)};
  Duration http_request{std::chrono::seconds(10)};
  Duration http_keep_alive{std::chrono::seconds(75)};
  Duration tunnel{std::chrono::hours(1)};
  Duration queue{std::chrono::seconds(5)};
  Duration drain{std::chrono::seconds(30)};
  bool operator==(const Timeouts&) const = default;
};

// HTTP/1 parsing limits of a frontend (defaults, then frontend).
struct HttpLimits {
  uint32_t max_request_line = 8 * 1024;   // `http-max-request-line`, over it: 414
  uint32_t max_header_size = 32 * 1024;   // `http-max-header-size` (all header bytes), over: 431
  uint32_t max_headers = 100;             // `http-max-headers` (field count), over: 431
  // `http2-max-concurrent-streams`: streams one HTTP/2 client may have open at once.
  uint32_t h2_max_streams = 100;
  bool operator==(const HttpLimits&) const = default;
};

enum class LogLevel { trace, debug, info, notice, warning, error, critical, fatal };
enum class AccessLogFormat { off, common, json };
enum class Mode { http, tcp };
// closest (mesh): the lowest-RTT region first (local = 0), least loaded within it.
enum class Balance { random, roundrobin, leastconn, closest };
enum class ProxyProtocol { none, v1, v2 };
// What Ferry speaks to a server: HTTP/1.1, HTTP/2 with prior knowledge over cleartext, or
// HTTP/2 over TLS (ALPN h2).
enum class UpstreamProto { http1, h2c, h2 };

struct AdminUser {
  std::string name;
  std::string password_hash;
};

struct Global {
  std::string node;                  // `node NAME`; default: the host name
  std::string region;                // `region NAME`; default: empty
  int workers = 0;                   // `workers N|auto`; 0 = auto (one per core)
  std::string state_dir = "/var/lib/ferry";
  std::optional<Address> admin = Address{"127.0.0.1", 9900};  // `admin ADDR|off`
  SourceLoc admin_loc;               // of the `admin` argument (line 0 = not written)
  std::vector<AdminUser> admin_users;  // `admin-user NAME HASH`; HASH format checked at parse
  // `admin-host NAME` (repeatable): extra Host names the admin listener accepts (lower-case).
  std::vector<std::string> admin_hosts;
  // `admin-tls CERT_PEM [KEY_PEM]`: the admin listener speaks HTTPS. Paths resolved like
  // certificate paths; the key defaults to the certificate file. Empty = plain HTTP.
  std::string admin_tls_cert;
  std::string admin_tls_key;
  SourceLoc admin_tls_loc;
  // `admin-session-timeout DURATION`: idle expiry of admin sessions (default 30m).
  Duration admin_session_timeout{std::chrono::minutes(30)};
  bool metrics_public = false;       // `metrics-public on|off`: GET /metrics without login
  std::string log_target = "stderr";  // `log stderr|PATH [LEVEL]`
  LogLevel log_level = LogLevel::info;
  std::string access_log_target = "stderr";  // `access-log off|stderr|PATH [common|json]`
  AccessLogFormat access_log_format = AccessLogFormat::off;
  SourceLoc access_log_loc;  // of the `access-log` target argument (line 0 = not written)
  uint32_t max_connections = 100000;  // `maxconn N`: per process, accepts pause above it
  // `request-id-header NAME|off`: the request id's alias, lower-case: taken from trusted peers
  // like Ferry-Request-Id and sent upstream beside it. Empty = off.
  std::string request_id_header = "x-request-id";
  // `replay-buffer-budget SIZE`: the streamed request-body bytes one worker may hold at once
  // for possible Ferry-Replay answers (all its requests together); past it a body is not kept.
  uint64_t replay_buffer_budget = 32 * 1024 * 1024;
  // Per-app traffic history (daemon/src/history): `history-sample-interval DURATION` (>= 1s)
  // and `history-retention MINUTES HOURS|off` (how long minute and hour rows are kept).
  Duration history_sample_interval{std::chrono::seconds(10)};
  bool history_enabled = true;  // false: `history-retention off`
  Duration history_minute_retention{std::chrono::hours(48)};
  Duration history_hour_retention{std::chrono::hours(24 * 30)};
};

enum class TlsVersion { v1_2, v1_3 };

struct Bind {
  Address addr;
  bool tls = false;           // `bind ADDR tls`: TLS termination, certificate chosen by SNI
  bool accept_proxy = false;  // `bind ADDR accept-proxy`: PROXY protocol v1/v2 required
  SourceLoc loc;
  bool operator==(const Bind& o) const { return addr == o.addr && tls == o.tls && accept_proxy == o.accept_proxy; }
};

// A CIDR such as 10.0.0.0/8 or ::1/128.
struct Cidr {
  std::string network;  // IP literal without brackets
  uint8_t prefix = 0;
  bool is_v6() const { return network.find(':') != std::string::npos; }
  std::string to_string() const { return network + "/" + std::to_string(prefix); }
  bool operator==(const Cidr&) const = default;
};

struct Frontend {
  std::string name;
  Mode mode = Mode::http;
  std::vector<Bind> binds;
  // tcp: `app NAME` (required without `route sni`; with it, the app for ClientHellos without
  // SNI or whose name matches no tcp app; -1 = none); http: `default-app NAME` (optional).
  int app = -1;
  // `route sni` (tcp only): TLS passthrough, each connection goes to the `mode tcp` app whose
  // hosts match the server name of the client's ClientHello.
  bool route_sni = false;
  Timeouts timeouts;      // client, http-request, http-keep-alive, tunnel apply here
  HttpLimits limits;
  // `trust-forwarded CIDR...`: downstream peers whose X-Forwarded-* and Ferry-Request-Id are
  // kept (appended to); from everyone else those headers are replaced.
  std::vector<Cidr> trusted;
  // `proxy-senders CIDR...`: the peers (load balancers) whose PROXY header an `accept-proxy`
  // bind accepts, matched against the connection's real source address; a connection from
  // anyone else is closed. Required when a bind has `accept-proxy` (no implicit "anyone").
  std::vector<Cidr> proxy_senders;
  // `default-certificate PATH`: served on this frontend's TLS binds to clients whose SNI
  // matches no app (or who send none); without it such handshakes are refused.
  std::string default_certificate;
  SourceLoc default_certificate_loc;
  // The mesh backhaul listener (added by the resolve pass from `mesh backhaul`, named
  // "(backhaul)"): HTTP/2 cleartext or PROXY v2 + TCP from peers only (`trusted` = every
  // peer's allowed-ips; other sources are refused); requests are routed by their Ferry-App /
  // Ferry-Instance metadata to instances hosted here.
  bool backhaul = false;
  // Request rules run for every request on this frontend, before the app's (rules.h).
  RuleSet rules;
  SourceLoc loc;
};

struct HealthCheck {
  enum class Kind { none, tcp, http };
  Kind kind = Kind::none;
  std::string method = "GET";
  std::string path = "/";
  std::string host;  // Host header sent by http checks; default: the server address
  Duration interval{std::chrono::seconds(2)};
  Duration timeout{std::chrono::seconds(1)};
  int rise = 2;
  int fall = 3;
};

// Passive health: `eject-after N` consecutive connect failures or 5xx eject a server for
// `eject-time` (doubling while it keeps failing, up to 8x).
struct PassiveHealth {
  int consecutive_failures = 5;  // 0 disables passive ejection
  Duration eject_time{std::chrono::seconds(10)};
};

struct Server {
  std::string name;
  Address addr;
  int weight = 1;             // 0..256; 0 = receives no traffic
  int maxconn = 0;            // 0 = unlimited; requests (or TCP connections) in flight
  bool backup = false;        // used only when no non-backup server is up
  bool disabled = false;
  ProxyProtocol send_proxy = ProxyProtocol::none;  // `send-proxy` / `send-proxy-v2`
  UpstreamProto proto = UpstreamProto::http1;      // `proto h1|h2c|h2`
  // TLS to the server (`proto h2`): `ca-file PATH` (trusted CAs; default: the system's),
  // `verify none|required`, `sni NAME` (sent and verified; default: the server's IP, verified
  // against the certificate's IP SANs).
  std::string ca_file;
  bool verify = true;
  std::string sni;
  // `node NAME`: the mesh peer hosting this instance (reached over the backhaul); empty =
  // this node hosts it. `region NAME`: the instance's region; default: the node's (a peer's
  // `region`, or global `region` for local instances).
  std::string node;
  std::string region;
  int peer = -1;              // index into Config::mesh->peers for `node`; -1 = local
  // Set by the proxy for an instance from the catalog (never by a config file): its own soft
  // concurrency limit (0 = the app's) and its origin.
  int soft = 0;
  bool catalog = false;
  SourceLoc loc;
};

struct Backend {
  std::string name;
  Balance balance = Balance::random;
  HealthCheck health;
  PassiveHealth passive;
  std::vector<Server> servers;
  Timeouts timeouts;   // connect, server, queue, tunnel apply here
  int retries = 2;     // extra attempts on another server
  uint32_t pool_max_idle = 64;                   // `pool-max-idle N` per server per worker
  Duration pool_idle_timeout{std::chrono::seconds(30)};  // `pool-idle-timeout`
  // `instances catalog`: besides its `server` lines, the backend takes the live instances the
  // catalog holds for each app whose backend it is (docs/CATALOG.md); `static` (default): only
  // its `server` lines.
  bool catalog = false;
  SourceLoc loc;
};

struct Concurrency {
  int soft = 0;   // 0 = none; balancing prefers instances below it
  int hard = 0;   // 0 = unlimited; above it requests queue
  int queue = 0;  // bounded FIFO length; 0 = reject at once above `hard`
};

struct App {
  std::string name;
  // `mode http|tcp`: http apps are reached by Host on http frontends; tcp apps by SNI on
  // `route sni` frontends (TLS passes through to their servers). Either may be a tcp
  // frontend's `app`.
  Mode mode = Mode::http;
  std::vector<std::string> hosts;  // lower-cased; "*.example.com" wildcards
  int backend = -1;                // index into Config::backends
  Concurrency concurrency;
  uint64_t max_body_size = 0;      // `max-body-size SIZE`; 0 = unlimited; over it: 413
  // `certificate acme|PATH`: "acme", or the PEM file's path, a relative one resolved against
  // the directory of the file that names it. Checked by the daemon (ferryd -c, start, reload).
  std::string certificate;
  SourceLoc certificate_loc;       // of the directive's argument
  TlsVersion tls_min = TlsVersion::v1_2;  // `tls-min 1.2|1.3`: lowest version its clients may use
  // `ip ADDR`: an anycast address dedicated to this app (an `anycast` address without
  // `shared`): requests on it go to this app whatever their Host. Empty = none.
  std::string ip;
  // `allow-routing-hints`: clients may steer with Ferry-Prefer-/Ferry-Force-Region/-Instance.
  bool allow_routing_hints = false;
  // `replay-max-body SIZE`: the largest request body a Ferry-Replay may carry; a streamed body
  // up to it is kept in memory while the request runs. 0 (default): only requests without a
  // body are replayed, and nothing is kept.
  uint64_t replay_max_body = 0;
  // `replay-to APP...`: the other apps a Ferry-Replay `app=` from this app's servers may
  // name (indices into Config::apps); its own app is always allowed. Empty: none.
  std::vector<int> replay_to;
  // Request rules (rules.h), after the frontend's.
  RuleSet rules;
  // `hsts MAX-AGE [include-subdomains] [preload]`: the Strict-Transport-Security value sent
  // on every response to a TLS request (replacing a server's); empty: none.
  std::string hsts;
  // Automatic HTTPS (`https-redirect on|off`): the port plain-HTTP requests are redirected to
  // with 308 (443 is left out of the Location); 0: no redirect. On by default for an http app
  // with a `certificate` when an http frontend has a `tls` bind.
  uint16_t https_port = 0;
  // `frontends NAME...`: the only frontends through which the app is reached (indices into
  // Config::frontends); empty: every frontend. The mesh backhaul always reaches it.
  std::vector<int> frontends;
  // Scale-to-zero (docs/CATALOG.md), http apps whose backend has `instances catalog`.
  // `autostart URL|COMMAND [ARG...]`: the hook asked to start an instance when a request finds
  // none started (the request waits up to `autostart-timeout` for one to register as
  // `started`, else 503 with Retry-After), and to stop idle ones with `autostop`. An http:// or
  // https:// URL is a webhook (POST, a JSON body); anything else a command (argv; a bare name
  // is looked up on PATH when run, a path with '/' is resolved against the config file's
  // directory). Both empty: no autostart.
  std::string autostart_url;
  std::vector<std::string> autostart_command;
  Duration autostart_timeout{std::chrono::seconds(30)};  // `autostart-timeout`; also bounds each hook call
  // `autostop IDLE [keep N]`: this node asks the hook to stop each of its own instances of the
  // app idle (nothing in flight, no response) for IDLE, while more than N are started
  // fleet-wide. 0: never.
  Duration autostop_idle{0};
  int autostop_keep = 0;
  bool autostart() const { return !autostart_url.empty() || !autostart_command.empty(); }
  SourceLoc loc;
};

// The `acme` section: where automatic certificates (`certificate acme`) come from.
// tls_alpn_01 (RFC 8737): the CA connects to port 443 with ALPN acme-tls/1; http_01 (RFC 8555
// §8.3): the CA fetches http://NAME/.well-known/acme-challenge/TOKEN on port 80 (a plain bind).
enum class AcmeChallenge { tls_alpn_01, http_01 };
struct Acme {
  std::string directory;  // `directory URL` (required): the CA's ACME directory, https://
  std::string email;      // `email ADDR`: account contact; empty = none
  AcmeChallenge challenge = AcmeChallenge::tls_alpn_01;  // `challenge tls-alpn-01|http-01`
  // `ca-bundle PATH`: PEM CA certificates trusted for the ACME server's HTTPS (instead of the
  // system's); relative paths are resolved like certificate paths. Empty = system CAs.
  std::string ca_bundle;
  SourceLoc loc;  // of the section header
};

// The `tracing` section: W3C Trace Context (traceparent/tracestate) on every HTTP request and
// the export of one span per hop to an OpenTelemetry collector, OTLP over HTTP with JSON.
struct Tracing {
  // `endpoint URL` (required): http://HOST:PORT/PATH of the collector's traces receiver
  // (e.g. http://127.0.0.1:4318/v1/traces); split into its parts.
  std::string endpoint;
  std::string endpoint_host;  // an IP literal or a name (resolved by the exporter)
  uint16_t endpoint_port = 80;
  std::string endpoint_path = "/v1/traces";
  double sample = 0.05;        // `sample RATIO|N%`: the share of traces started here that are exported
  bool errors = true;          // `errors on|off`: 5xx answers are exported whatever the sampling
  std::string service_name = "ferry";  // `service-name NAME`: the spans' service.name
  uint32_t queue = 8192;       // `queue N`: spans waiting for export at most (more: dropped, counted)
  Duration interval{std::chrono::seconds(2)};  // `interval DURATION`: the exporter's batch period
  Duration slow{std::chrono::seconds(1)};  // `slow DURATION`: requests listed on the console's app page
  // `ui-url URL`: where the console links a trace id: a URL with `%{trace-id}`; empty = no link.
  std::string ui_url;
  SourceLoc loc;  // of the section header
};

// A `peer NAME` block of the `mesh` section: another Ferry node reachable over WireGuard.
struct MeshPeer {
  std::string name;
  std::string public_key;               // `public-key B64`: its WireGuard key (32 bytes, base64)
  std::optional<Address> endpoint;      // `endpoint ADDR:PORT`: its WireGuard UDP endpoint
  std::vector<Cidr> allowed_ips;        // `allowed-ips CIDR...`: mesh addresses routed to it
  Address backhaul;                     // `backhaul ADDR:PORT` (required): its backhaul listener
  std::string region;                   // `region NAME` (required)
  Duration latency{0};                  // `latency DURATION`: fixed RTT; 0 = measured (PING)
  Duration keepalive{0};                // `persistent-keepalive DURATION`; 0 = off
  SourceLoc loc;
};

// How WireGuard is driven: the kernel's generic netlink family, or the userspace API socket
// (/var/run/wireguard/IFACE.sock) of wireguard-go / boringtun; auto = kernel if the link
// type exists, else userspace.
enum class WgDriver { automatic, kernel, userspace };

// The `mesh` section (at most one).
struct Mesh {
  std::string interface = "ferry0";   // `interface NAME`
  std::string private_key_file;       // `private-key PATH` (required): base64 key, one line
  SourceLoc private_key_loc;          // of the PATH argument (for `ferryd -c` key checks)
  uint16_t listen_port = 51820;       // `listen-port PORT`
  Cidr address;                       // `address CIDR` (required): this node's mesh address
  Address backhaul;                   // `backhaul ADDR:PORT` (required): where peers connect
  WgDriver driver = WgDriver::automatic;  // `driver auto|kernel|userspace`
  // `userspace PROGRAM [ARG...]`: Ferry starts and supervises PROGRAM (e.g. wireguard-go) in
  // the foreground for the interface; implies `driver userspace`. Empty = not started.
  std::vector<std::string> userspace_command;
  Duration ping_interval{std::chrono::seconds(1)};  // `ping-interval`: backhaul PING period
  Duration peer_timeout{std::chrono::seconds(3)};   // `peer-timeout`: unanswered -> unreachable
  std::vector<MeshPeer> peers;
  std::unordered_map<std::string, int> peer_index;  // name -> index
  SourceLoc loc;
};

// One `anycast` address: added on start/reload, removed on stop or when dropped (only if
// Ferry added it).
struct AnycastAddress {
  Cidr cidr;                    // `address CIDR`
  std::string interface = "lo";  // `interface NAME`
  bool shared = false;          // `shared`: many apps, routed by SNI/Host; else one app's `ip`
  SourceLoc loc;
};

// The `catalog` section (docs/CATALOG.md): where the live instance catalog is shared. Without
// the section, or without `etcd`, it is the embedded back end (each node serves its own
// instances to its mesh peers over the backhaul).
struct Catalog {
  // `etcd URL...`: the etcd v3 cluster's client URLs (http:// or https://, an IP literal or a
  // DNS name, a port); non-empty = the etcd back end. Tried in turn when one fails.
  std::vector<std::string> etcd;
  std::string prefix = "/ferry/catalog/";  // `prefix KEY`: every key lives under it; ends in '/'
  Duration lease_ttl{std::chrono::seconds(5)};  // `lease-ttl DURATION` (2s..1m): a dead node's instances live this long
  // `ca-file PATH`, `cert PATH`, `key PATH`: TLS to https:// endpoints (CA bundle; client
  // certificate and key for etcd's --client-cert-auth). Empty = the system's CAs / none.
  std::string ca_file, cert, key;
  // `user NAME password-file PATH`: etcd authentication (the file holds the password; its
  // last newline is ignored). Empty = no authentication.
  std::string user, password_file;
  // `instances-dir PATH`: a directory of instance files (NAME.json) registered as this node's
  // instances and watched (the file provider). Empty = none.
  std::string instances_dir;
  SourceLoc loc;  // of the section header
  bool etcd_backend() const { return !etcd.empty(); }
};

struct Config {
  std::vector<std::string> files;  // every file read, main file first
  Global global;
  std::optional<Acme> acme;        // the `acme` section, if any (at most one)
  std::optional<Tracing> tracing;  // the `tracing` section, if any (at most one)
  std::optional<Mesh> mesh;        // the `mesh` section, if any (at most one)
  Catalog catalog;                 // the `catalog` section (defaults without one: embedded)
  std::vector<AnycastAddress> anycast;  // every `anycast` section's addresses
  Timeouts default_timeouts;       // the `defaults` section, resolved
  std::vector<Frontend> frontends;
  std::vector<Backend> backends;
  std::vector<App> apps;
  // Lookup by name -> index.
  std::unordered_map<std::string, int> frontend_index, backend_index, app_index;
};

}  // namespace ferry::config
