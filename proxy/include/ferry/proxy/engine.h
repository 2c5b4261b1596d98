// The data plane: worker event loops, listeners, HTTP/1 and TCP proxying, balancing, health,
// per-app budgets, access log.
//
// A configuration goes live in two steps: prepare() does everything that can fail for a reason
// in the configuration (reads and checks certificate and CA files, builds TLS contexts, opens
// the access log: prepare.h) and reports it as diagnostics at the directive; apply() installs
// the result: it binds the new listeners (which may still fail: then nothing changed) and
// publishes the plan.
//
// Ownership: the daemon owns one Engine. Thread: every method is for the control thread
// (the one that created the Engine) unless stated; apply(), set_dynamic_certificates(),
// set_acme_challenges() and set_acme_http_tokens() may be called from different control-plane
// threads (the main thread reloads, the ACME thread installs certificates): the first three
// serialise on an internal mutex, set_acme_http_tokens() only swaps the HTTP-01 table under
// that table's own lock. Workers are started by the first successful apply() and run until stop().
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/configlang/config.h"
#include "ferry/proxy/catalog.h"
#include "ferry/proxy/prepare.h"
#include "ferry/proxy/stats.h"

namespace ferry::proxy {

// Receives the proxy's own log lines (not the access log). Called from any thread, possibly
// concurrently; must be thread-safe. Install before the first apply(); calling it again
// (e.g. on reload, to change the level) is safe while workers run.
using LogSink = std::function<void(config::LogLevel, std::string_view)>;
void set_log_sink(LogSink sink, config::LogLevel min_level);

// A mesh peer as the data plane sees it (the prober's measurements), for the console/API.
struct MeshPeerInfo {
  std::string name, region, backhaul;
  uint32_t rtt_us = 0;       // PING RTT (EWMA), or the configured `latency`
  bool rtt_fixed = false;    // `latency` set: rtt_us is the configured value
  bool reachable = true;
  int64_t last_answer_age_ms = -1;  // since the last PING answer; -1 = none yet
  int64_t last_report_age_ms = -1;  // since the last load report; -1 = none yet
  uint64_t pings = 0, ping_failures = 0;
};

struct ListenerInfo {
  std::string frontend;
  std::string address;  // as bound, with the real port (e.g. "127.0.0.1:41234")
};

// A certificate obtained at run time (ACME) for one app with `certificate acme`, in memory.
struct AppCertificate {
  std::string app;                 // the app's name
  std::vector<std::string> hosts;  // the names it was issued for (for messages)
  std::string chain_pem;           // leaf first, then intermediates
  std::string key_pem;             // its private key
};

// An ACME TLS-ALPN-01 validation certificate (RFC 8737 §3) for one identifier.
struct AcmeChallengeCertificate {
  std::string identifier;  // lower-case DNS name
  std::string cert_pem;
  std::string key_pem;
};

class Engine {
 public:
  Engine();
  ~Engine();  // stop()s if needed
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Prepares `cfg` for this engine (prepare.h): each certificate and CA file is read once,
  // the contexts are built with this engine's session ticket keys, the access-log file is
  // opened (created if missing). Touches nothing live: the running configuration, listeners
  // and plan stay as they are. Prepared::ready is set when no error was found.
  // Thread: any control-plane thread (reads files; takes the internal mutex only briefly).
  Prepared prepare(std::shared_ptr<const config::Config> cfg);

  // Makes `prepared` (from this engine's prepare()) the live configuration. Opens new
  // listeners (binding every worker's socket first), keeps unchanged ones open, puts the
  // prepared TLS contexts together with the ACME certificates, switches the access log, builds
  // the routing/balancing plan and posts it to every worker; then closes listeners that are
  // gone (their connections finish normally). Reads no file. Returns false and sets `error`
  // (one line per problem, e.g. "bind 1.2.3.4:80: Address already in use (frontend web,
  // ferry.conf:12:5)") when anything fails: then nothing changed. In-flight requests keep the
  // snapshot they started with.
  bool apply(std::shared_ptr<const PreparedConfig> prepared, std::string& error);
  // prepare() then apply(); the preparation's errors become `error`, one
  // "file:line:col: message" line each.
  bool apply(std::shared_ptr<const config::Config> cfg, std::string& error);

  std::vector<ListenerInfo> listeners() const;
  // The mesh peers of the newest plan with their live RTT and reachability. Any thread.
  std::vector<MeshPeerInfo> mesh_peers() const;

  // Certificates of apps with `certificate acme`, replacing the previous list (an app missing
  // from `certs` loses its certificate). Each is checked (PEM, key match, dates, chain); on a
  // problem returns false with the reason in `error` and changes nothing. Otherwise the TLS
  // contexts are rebuilt and a new plan is published to the workers: listeners stay bound,
  // open connections keep their certificate, new handshakes get the new one. Every later
  // apply() (reload) keeps serving them. An app's hosts are served by its certificate when
  // the certificate covers them (a host added by a reload is not until its new certificate
  // arrives). May be called before the first apply().
  // Thread: any control-plane thread (the ACME thread); serialised with apply() by a mutex.
  bool set_dynamic_certificates(std::vector<AppCertificate> certs, std::string& error);

  // The pending TLS-ALPN-01 challenges, replacing the previous set (empty = none). A
  // ClientHello offering ALPN "acme-tls/1" for an identifier in the set is answered with its
  // certificate and ALPN "acme-tls/1", and the connection closes after the handshake. Takes
  // effect at once on every TLS frontend, across reloads. False with `error` when a
  // certificate does not load (then nothing changes).
  // Thread: any control-plane thread.
  bool set_acme_challenges(const std::vector<AcmeChallengeCertificate>& challenges, std::string& error);

  // The pending HTTP-01 challenges (RFC 8555 §8.3): token -> key authorization, replacing the
  // previous set (empty = none). An HTTP/1 GET for "/.well-known/acme-challenge/<token>" with a
  // token in the set is answered 200 with the key authorization, before routing, on every http
  // frontend (the CA uses a plain bind on port 80); other tokens are routed as usual. Takes
  // effect at once, across reloads. False with `error` (nothing changes) when a token is not
  // base64url or a key authorization does not start with "<token>.".
  // Thread: any control-plane thread.
  bool set_acme_http_tokens(std::map<std::string, std::string> tokens, std::string& error);

  // The live instance catalog (catalog.h). set_instances replaces every instance the engine
  // routes to beside the `server` lines: the started ones of apps whose backend has
  // `instances catalog` join it (plan/plan.h build_plan); a new plan is published at once
  // (listeners and TLS contexts untouched) and every later apply() keeps them. A server keeps
  // its live state (load, health, ejection) while its backend, name and address stay.
  // Requests in flight keep the plan they started with. Thread: any control-plane thread
  // (serialised with apply() by the control mutex). May be called before the first apply().
  void set_instances(std::vector<Instance> instances);
  // What this node serves its mesh peers at GET /.ferry/v1/catalog on the backhaul; waiting
  // long polls answer at once. Any control-plane thread.
  void set_catalog_feed(std::shared_ptr<const CatalogFeed> feed);
  // Where worker 0 hands what the peers' feeds serve (catalog.h). Before the first apply()
  // only (the workers read it unlocked).
  void set_catalog_sink(CatalogSink sink);
  // The acknowledgement hooks (catalog.h). Before the first apply() only, like the sink.
  void set_catalog_acks(CatalogAck ack, CatalogApplied applied);
  // The autostart hook (catalog.h), before the workers start; empty: requests for an app
  // without a started instance are not held.
  void set_autostart(AutostartHook hook);

  // Stop accepting on every listener, close idle keep-alive connections, and make active
  // connections close after their current request. Idempotent.
  void begin_drain();
  // Waits until no downstream connection remains or `timeout` passes. True if drained.
  bool wait_drained(std::chrono::milliseconds timeout);
  // Stops the workers (aborting what remains) and joins their threads. Idempotent.
  void stop();

  // The data plane's counters summed over every worker, with the live budget, health and
  // load figures of the newest plan (stats.h). Any thread; reads relaxed atomics only, never
  // blocks a worker. Cost grows with the number of apps x workers (a 10,000-app scrape must
  // stay well under a second).
  EngineStats stats() const;

  // Tracing: moves the finished spans the workers handed over (OTLP/JSON span objects joined
  // by ',') into `out`, replacing its content; returns their number. The daemon's exporter
  // calls it. Any thread.
  size_t take_spans(std::string& out);
  // The newest slow requests of `app` (tracing on, at least `tracing slow` long), newest
  // first, at most `max`. Any thread.
  std::vector<SlowRequest> slow_requests(const std::string& app, size_t max) const;

  // Admin drain: a drained server gets no new requests or connections (those in flight
  // finish), as if its weight were 0; it shows as drained in stats(). The state is kept by
  // (backend name, server name) across reloads until set_server_drained(..., false) clears
  // it, and applies again if a reload re-adds that server. Returns false when the current
  // configuration has no such server (then nothing changes). Any thread.
  bool set_server_drained(const std::string& backend, const std::string& server, bool drained);
  // The (backend, server) pairs drained now, sorted. Any thread.
  std::vector<std::pair<std::string, std::string>> drained_servers() const;

  size_t active_connections() const;  // any thread
  int worker_count() const;

  struct Impl;
 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::proxy
