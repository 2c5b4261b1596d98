// Server selection for one backend (`balance random|roundrobin|leastconn`).
//
// Ownership: each worker owns its own Balancer per backend (built when a plan is
// installed), so roundrobin/random state needs no locks. Thread: the owning worker only.
// Inputs are read from shared ServerState atomics.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <span>
#include <vector>

#include "ferry/configlang/config.h"
#include "runtime/server_state.h"

namespace ferry::proxy {

struct PeerState;

struct ServerRef {
  const config::Server* cfg = nullptr;
  ServerState* state = nullptr;
  const PeerState* peer = nullptr;  // the hosting mesh peer of a remote server; null = local
};

// Steering for one request (client routing hints where the app allows them, a Ferry-Replay
// target, or the instance a backhaul request names). Views into the request; empty = none.
// force_*: only matching servers are candidates (none eligible: no server, 503);
// prefer_*: matching eligible servers first, the normal choice otherwise.
struct RoutingHints {
  std::string_view prefer_region, force_region, prefer_instance, force_instance;
  bool empty() const {
    return prefer_region.empty() && force_region.empty() && prefer_instance.empty() && force_instance.empty();
  }
};

struct PickRequest {
  std::span<const ServerRef> servers;
  const std::vector<bool>* tried = nullptr;  // servers already tried for this request (retries)
  int soft_limit = 0;                        // app `concurrency soft`: prefer inflight below it
  int64_t now = 0;                           // now_ms()
  const RoutingHints* hints = nullptr;       // null = none
  bool server_soft = false;  // some server has its own soft limit (config::Server::soft), which wins
};

// Eligible = not disabled, weight > 0, healthy, not drained (admin), not ejected, inflight < maxconn (if set),
// not tried; a remote server also needs its peer reachable and its hosting node's report
// healthy. Hints (RoutingHints) narrow the candidates first. Backup servers are eligible only
// when no non-backup server is. `closest` keeps only the candidates of the nearest region
// (lowest peer RTT among its candidates; local servers count 0). Among the candidates,
// those below the soft limit are preferred when any exists.
bool eligible(const ServerRef& s, int64_t now);

class Balancer {
 public:
  virtual ~Balancer() = default;
  // Returns an index into req.servers, or -1 when no server is eligible (caller answers 503).
  virtual int pick(const PickRequest& req) = 0;

  // closest = random over the nearest region's candidates (see eligible() above).
  // random = power of two choices over (inflight, EWMA latency); roundrobin = smooth weighted
  // round robin (nginx's algorithm); leastconn = fewest inflight relative to weight.
  // random: two distinct candidates are sampled with probability proportional to weight and
  // the lower score wins, score = (load + 1) * max(ewma_latency_us, 1) (exact 128-bit
  // integers; ties go to the first sample), except that a candidate that lost 5 comparisons in
  // a row on latency alone (its load no higher than the winner's) wins its next one, so latency
  // never starves a server. leastconn breaks ties by a rotating scan start. `seed` seeds the
  // per-balancer PRNG (splitmix64).
  static std::unique_ptr<Balancer> make(config::Balance kind, size_t server_count, uint64_t seed);
};

}  // namespace ferry::proxy
