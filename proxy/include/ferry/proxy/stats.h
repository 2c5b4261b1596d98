// A point-in-time view of the data plane's counters, for /metrics, the console and the
// per-app history. Built by Engine::stats() by summing every worker's own counters (each
// worker writes only its own slots, so the request path shares no contended atomic) and
// reading the shared runtime state (budgets, server health, peers).
//
// Counters are monotonic for the life of the process while the object they belong to (an
// app, a server, a frontend, by name) stays in the configuration; an app removed by a reload
// and added again starts from zero. Thread: plain values, owned by the caller.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ferry::proxy {

// Upper bounds (seconds) of the request-duration histogram buckets; +Inf is implied.
inline constexpr std::array<double, 14> kDurationBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                            0.25,  0.5,    1.0,   2.5,  5.0,  10.0, 30.0};

// Downstream protocol of a request: index into AppStats::by_protocol.
enum class StatsProtocol : int { http1 = 0, http2 = 1, tcp = 2 };
inline constexpr int kStatsProtocols = 3;
inline constexpr const char* kStatsProtocolNames[kStatsProtocols] = {"http1", "http2", "tcp"};

// Status classes: index 0 = no response sent (aborted, or a TCP connection), 1..5 = 1xx..5xx.
inline constexpr int kStatusClasses = 6;
inline constexpr const char* kStatusClassNames[kStatusClasses] = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};
inline constexpr int kAuthRejections = 3;
enum class AuthRejection { missing, wrong, busy };
inline constexpr const char* kAuthRejectionNames[kAuthRejections] = {"missing", "wrong", "busy"};

struct Histogram {
  // counts[i] = observations <= kDurationBuckets[i] (cumulative, Prometheus style);
  // count = all observations (the +Inf bucket); sum in seconds.
  std::array<uint64_t, kDurationBuckets.size()> counts{};
  uint64_t count = 0;
  double sum = 0;
};

struct AppStats {
  std::string name;
  std::string mode;  // "http" | "tcp"
  // requests[protocol][status class]: finished requests (HTTP) or connections (TCP).
  std::array<std::array<uint64_t, kStatusClasses>, kStatsProtocols> requests{};
  Histogram duration;          // request (HTTP) / connection (TCP) duration, all protocols
  uint64_t bytes_in = 0;       // body bytes from clients (TCP: all bytes)
  uint64_t bytes_out = 0;      // body bytes to clients (TCP: all bytes)
  // The concurrency budget (shared across workers).
  int inflight = 0;            // holding a unit now
  int queued = 0;              // waiting for a unit now
  int soft = 0, hard = 0;      // configured limits; hard 0 = unlimited
  uint64_t rejected = 0;       // 503 from the budget (queue full or queue timeout)
  uint64_t rate_limited = 0;   // 429 from a `rate-limit` rule
  // Requests a basic-auth rule refused, by kAuthRejectionNames: 401 without valid Basic
  // credentials ("missing"), 401 with a wrong user or password ("wrong"), 503 because the
  // password verifier was full ("busy").
  std::array<uint64_t, kAuthRejections> auth_rejected{};
  Histogram queue_wait;        // time waited for a unit by requests that waited
  // Scale-to-zero (`autostart`): requests that found no started instance and waited for one
  // (all of them, and those answered 503 because none came in time), and those waiting now.
  uint64_t autostart_held = 0, autostart_failed = 0;
  int autostart_waiting = 0;
  std::string backend;         // its backend's name
};

struct ServerStats {
  std::string backend, name, address;
  std::string node, region;  // node empty = local instance
  bool healthy = true;       // active check (true when not checked) and not ejected
  bool ejected = false;      // passive ejection in force
  bool drained = false;      // drained from the admin API (Engine::set_server_drained)
  bool disabled = false;     // `disabled` in config
  bool catalog = false;      // an instance from the catalog (not a `server` line)
  int inflight = 0;          // ours (all workers)
  int remote_inflight = 0;   // other edges', as the hosting node last reported
  uint32_t ewma_latency_us = 0;
  uint64_t connect_errors = 0, retries = 0, responses = 0;
};

struct FrontendStats {
  std::string name;
  uint64_t connections_total = 0;  // accepted
  int64_t connections_active = 0;
  uint64_t tls_handshakes = 0;     // completed
  // Closed unserved because the source is not allowed: a PROXY header from outside
  // `proxy-senders`, a backhaul connection from outside every mesh peer's allowed-ips (also
  // those a reload took out of them).
  uint64_t refused = 0;
  // Failed TLS handshakes by reason: "no-certificate" (SNI matched nothing and no default),
  // "protocol" (bad version/cipher/alert), "timeout", "other".
  std::vector<std::pair<std::string, uint64_t>> tls_failures;
};

// A request that took at least `tracing slow` (observe/slow_log.h), for the console's app page.
struct SlowRequest {
  std::string app, method, path, request_id, trace_id;  // path without its query
  int status = 0;
  bool exported = false;  // its span was exported (sampled, or an error with `errors on`)
  double duration_ms = 0;
  int64_t unix_ms = 0;  // when it started
};

struct EngineStats {
  uint64_t generation = 0;  // the plan these lists come from
  int workers = 0;
  uint64_t connections_active = 0;
  std::vector<uint64_t> worker_connections;  // downstream connections per worker (by id)
  uint64_t worker_handoffs = 0;  // connections served by another worker than the accepting one
  std::vector<AppStats> apps;            // config order
  std::vector<ServerStats> servers;      // backend order, then server order
  std::vector<FrontendStats> frontends;  // config order (the synthesized "(backhaul)" included)
  // basic-auth's password checks (auth/verifier.h): KDF runs, and checks refused because the
  // verifier's queue was full (those requests got 503).
  uint64_t auth_verifications = 0, auth_refused = 0;
  // Tracing: finished spans dropped because the export queue (`tracing queue N`) was full.
  uint64_t trace_spans_dropped = 0;
};

}  // namespace ferry::proxy
