// Live state of one upstream server, shared by every worker and the health checker.
//
// Ownership: held by shared_ptr from the RuntimeRegistry (runtime/registry.h) and from each
// published plan; a server keeps its state across reloads while its identity (backend name,
// server name, address) is unchanged. Thread: all members are atomics, any thread may read
// or update them; relaxed ordering is enough (they are hints for balancing, not locks).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "ferry/configlang/config.h"

namespace ferry::proxy {

using SteadyClock = std::chrono::steady_clock;

inline int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now().time_since_epoch()).count();
}

struct ServerState {
  std::atomic<int> inflight{0};            // requests / TCP connections in flight, all workers
  // Requests / TCP connections begun (each attempt; monotonic), incremented with `inflight`:
  // with a snapshot of both, the mesh prober knows which of ours a load report may count.
  std::atomic<uint64_t> started{0};
  std::atomic<bool> healthy{true};         // active health result (true when not checked)
  std::atomic<int64_t> ejected_until_ms{0};  // passive ejection deadline (now_ms() clock)
  std::atomic<int> consecutive_failures{0};
  std::atomic<int> ejections{0};           // consecutive ejections, for back-off doubling
  std::atomic<uint32_t> ewma_latency_us{0};  // EWMA of response-head latency
  // An instance on another node (`server ... node NAME`): its state as the hosting node last
  // reported it (mesh load reports): the requests in flight there from OTHER edges (the
  // reported count minus those of ours it may count, see apply_load_report), the app's queue
  // there, and its health on that node. Zero / true for local servers.
  std::atomic<int> remote_inflight{0};
  std::atomic<int> remote_queue{0};
  std::atomic<bool> remote_healthy{true};
  // Admin drain (Engine::set_server_drained): not eligible for new requests or connections.
  // Written by the control thread (RuntimeRegistry::server at each build, and at once by the
  // Engine); read by the balancers and the load report.
  std::atomic<bool> drained{false};
  // Counters for metrics (monotonic).
  std::atomic<uint64_t> connect_errors{0}, retries{0}, responses{0};

  // The load used for balancing and `maxconn`: our own in-flight count plus the other edges'
  // as last reported by the hosting node.
  int load() const {
    return inflight.load(std::memory_order_relaxed) + remote_inflight.load(std::memory_order_relaxed);
  }
  bool ejected(int64_t now) const { return ejected_until_ms.load(std::memory_order_relaxed) > now; }
  // Success: reset the failure run, fold `latency_us` into the EWMA (alpha 1/8).
  void record_success(uint32_t latency_us);
  // Connect failure or 5xx: after `p.consecutive_failures` in a row eject for
  // eject_time * 2^min(ejections,3). Returns true when this call ejected the server.
  bool record_failure(const config::PassiveHealth& p, int64_t now);
};

}  // namespace ferry::proxy
