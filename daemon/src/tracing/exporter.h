// The span exporter of the `tracing` section: every `interval` it takes the spans the engine's
// workers finished (Engine::take_spans) and POSTs them to the collector as one OTLP/HTTP JSON
// request (`resourceSpans` with this node's service.name, host.name and cloud.region). No
// OpenTelemetry C++ package exists in Debian 12; this is the small part of it Ferry needs,
// written on POCO's HTTP client.
//
// Ownership: the Daemon owns one (after the engine it drains, stopped before it). Threads:
// start()/update()/stop() on the main thread; the export runs on its Follower's thread; the
// counters are atomics read by the metrics route. Errors: a failed POST (connect, timeout,
// non-2xx) drops that batch, counted and logged at most once a minute; the data plane never
// waits for the collector (its queue is bounded and drops, counted by the engine).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "ferry/configlang/config.h"
#include "ferry/proxy/engine.h"
#include "lifecycle/follower.h"

namespace ferry::daemon {

class TraceExporter {
 public:
  explicit TraceExporter(proxy::Engine& engine) : engine_(engine) {}
  ~TraceExporter() { stop(); }

  void start(std::shared_ptr<const config::Config> cfg);
  void update(std::shared_ptr<const config::Config> cfg) { follower_.post(std::move(cfg)); }
  // Exports what is left (one last POST), then joins the thread. Idempotent.
  void stop() { follower_.stop(); }

  struct Counters {
    uint64_t exported = 0;       // spans the collector accepted
    uint64_t failed = 0;         // spans dropped because their POST failed
    uint64_t requests_ok = 0, requests_failed = 0;
  };
  Counters counters() const;

  // The OTLP/JSON body for `spans` (span objects joined by ','), exposed for the unit test.
  static std::string body(const config::Config& cfg, std::string_view spans);

 private:
  using Snapshot = std::shared_ptr<const config::Config>;
  std::chrono::milliseconds step(const Snapshot& cfg);
  void send(const config::Tracing& t, const std::string& body, size_t n);

  proxy::Engine& engine_;
  std::string spans_;  // the follower thread's buffer
  std::atomic<uint64_t> exported_{0}, failed_{0}, requests_ok_{0}, requests_failed_{0};
  std::chrono::steady_clock::time_point last_complaint_{};
  Follower<Snapshot> follower_;  // last: its thread uses the members above
};

}  // namespace ferry::daemon
