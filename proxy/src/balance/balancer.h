// Server selection for one backend (`balance random|roundrobin|leastconn`).
//
// Ownership: each worker owns its own Balancer per backend (built when a plan is
// installed), so roundrobin/random state needs no locks. Thread: the owning worker only.
// Inputs are read from shared ServerState atomics.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "ferry/configlang/config.h"
#include "runtime/server_state.h"

namespace ferry::proxy {

struct ServerRef {
  const config::Server* cfg = nullptr;
  ServerState* state = nullptr;
};

struct PickRequest {
  std::span<const ServerRef> servers;
  const std::vector<bool>* tried = nullptr;  // servers already tried for this request (retries)
  int soft_limit = 0;                        // app `concurrency soft`: prefer inflight below it
  int64_t now = 0;                           // now_ms()
};

// Eligible = not disabled, weight > 0, healthy, not ejected, inflight < maxconn (if set),
// not tried. Backup servers are eligible only when no non-backup server is. Among eligible
// servers, those below the soft limit are preferred when any exists.
bool eligible(const ServerRef& s, int64_t now);

class Balancer {
 public:
  virtual ~Balancer() = default;
  // Returns an index into req.servers, or -1 when no server is eligible (caller answers 503).
  virtual int pick(const PickRequest& req) = 0;

  // random = power of two choices over (inflight, EWMA latency); roundrobin = smooth weighted
  // round robin (nginx's algorithm); leastconn = fewest inflight relative to weight.
  // random: two distinct candidates are sampled with probability proportional to weight and
  // the lower score wins, score = (inflight + 1) * max(ewma_latency_us, 1) / weight (compared
  // exactly by cross-multiplication; ties go to the first sample). leastconn breaks ties by
  // a rotating scan start. `seed` seeds the per-balancer PRNG (splitmix64).
  static std::unique_ptr<Balancer> make(config::Balance kind, size_t server_count, uint64_t seed);
};

}  // namespace ferry::proxy
