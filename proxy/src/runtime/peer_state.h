// Live state of one mesh peer (another Ferry node), shared by every worker.
//
// Ownership: held by shared_ptr from the RuntimeRegistry and from each published plan; a peer
// keeps its state across reloads while its name and backhaul address stay the same. Written
// by the mesh prober (upstream/mesh_prober, worker 0's loop); read by the balancers of every
// worker. All members are atomics with relaxed ordering: hints for balancing, not locks.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "runtime/server_state.h"

namespace ferry::proxy {

struct PeerState {
  // Round-trip time of HTTP/2 PINGs on the backhaul (EWMA, alpha 1/4), or the peer's
  // configured `latency` when set (the prober stores that instead of measuring).
  std::atomic<uint32_t> rtt_us{0};
  // False once no PING was answered for `peer-timeout`; true again at the next answer. Starts
  // true so that traffic may flow before the first probe (a failed exchange ejects as usual).
  std::atomic<bool> reachable{true};
  std::atomic<int64_t> last_answer_ms{0};  // now_ms() of the last PING answer
  std::atomic<int64_t> last_report_ms{0};  // now_ms() of the last load report applied
  std::atomic<uint64_t> pings{0}, ping_failures{0};
  // The key of this peer's backhaul connections in each worker's H2Upstreams: every instance
  // on the peer shares them (one multiplexed connection per peer, more when streams run out).
  std::shared_ptr<ServerState> backhaul = std::make_shared<ServerState>();

  // Distance used by `balance closest`: the RTT; "far" (an hour) while unreachable; a peer not
  // measured yet (no answer, no `latency`) counts as 10 s: behind every measured one.
  uint32_t distance_us() const {
    if (!reachable.load(std::memory_order_relaxed)) return 3'600'000'000u;
    const uint32_t rtt = rtt_us.load(std::memory_order_relaxed);
    return rtt ? rtt : 10'000'000u;
  }
};

}  // namespace ferry::proxy
