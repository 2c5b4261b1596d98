// Balancer implementations: random (power of two choices), smooth weighted round robin,
// least connections. See balancer.h for the contract.
//
// Candidate selection is shared by all algorithms:
//   1. eligible non-backup servers that were not tried yet;
//   2. if none, eligible backup servers that were not tried yet;
//   3. if req.soft_limit > 0 and some candidate has inflight < soft_limit, only those.
// Candidates are collected into a stack array (up to kInline servers) or, for bigger
// backends, into a vector owned by the balancer and reused across picks, so a pick does not
// allocate in the steady state.
#include "balance/balancer.h"

#include <algorithm>

#include "runtime/peer_state.h"

namespace ferry::proxy {

bool eligible(const ServerRef& s, int64_t now) {
  if (s.cfg == nullptr || s.state == nullptr) return false;
  const config::Server& c = *s.cfg;
  const ServerState& st = *s.state;
  if (c.disabled || c.weight <= 0) return false;
  if (!st.healthy.load(std::memory_order_relaxed)) return false;
  if (st.drained.load(std::memory_order_relaxed)) return false;
  if (st.ejected(now)) return false;
  if (c.maxconn > 0 && st.load() >= c.maxconn) return false;
  if (s.peer != nullptr &&
      (!s.peer->reachable.load(std::memory_order_relaxed) || !st.remote_healthy.load(std::memory_order_relaxed)))
    return false;
  return true;
}

namespace {

constexpr size_t kInline = 64;

// splitmix64: tiny, fast, good enough for load balancing (not for anything secret).
struct SplitMix64 {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform-ish in [0, n) (Lemire's multiply-shift; the bias is negligible for our n).
  uint64_t below(uint64_t n) { return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64); }
};

// A view over the candidate indices of one pick.
struct Candidates {
  int* data = nullptr;
  size_t n = 0;
};

bool matches_hints(const ServerRef& s, const RoutingHints& h) {
  if (!h.force_instance.empty() && s.cfg->name != h.force_instance) return false;
  if (!h.force_region.empty() && s.cfg->region != h.force_region) return false;
  return true;
}

// Keeps the candidates for which `keep` holds, in order, if there is any; else all.
template <class F>
void narrow(Candidates& c, F keep) {
  size_t m = 0;
  for (size_t k = 0; k < c.n; ++k) m += keep(c.data[k]) ? 1 : 0;
  if (m == 0 || m == c.n) return;
  size_t w = 0;
  for (size_t k = 0; k < c.n; ++k)
    if (keep(c.data[k])) c.data[w++] = c.data[k];
  c.n = w;
}

uint32_t distance_us(const ServerRef& s) { return s.peer ? s.peer->distance_us() : 0; }

class BalancerBase : public Balancer {
 public:
  explicit BalancerBase(size_t server_count, bool closest = false) : closest_(closest) {
    spill_.reserve(server_count > kInline ? server_count : 0);
  }

 protected:
  // Fills `c` with the candidates of `req` (see the file comment). `buf` has kInline slots.
  Candidates collect(const PickRequest& req, int* buf) {
    const size_t total = req.servers.size();
    int* out = buf;
    if (total > kInline) {
      spill_.resize(total);  // no allocation once capacity was reached
      out = spill_.data();
    }
    size_t n = 0;
    for (int pass = 0; pass < 2 && n == 0; ++pass) {
      const bool want_backup = pass == 1;
      for (size_t i = 0; i < total; ++i) {
        const ServerRef& s = req.servers[i];
        if (s.cfg == nullptr || s.cfg->backup != want_backup) continue;
        if (req.tried != nullptr && i < req.tried->size() && (*req.tried)[i]) continue;
        if (req.hints != nullptr && !matches_hints(s, *req.hints)) continue;
        if (!eligible(s, req.now)) continue;
        out[n++] = static_cast<int>(i);
      }
    }
    Candidates c{out, n};
    if (c.n > 1 && req.hints != nullptr) {
      const RoutingHints& h = *req.hints;
      if (!h.prefer_instance.empty()) narrow(c, [&](int i) { return req.servers[i].cfg->name == h.prefer_instance; });
      if (!h.prefer_region.empty()) narrow(c, [&](int i) { return req.servers[i].cfg->region == h.prefer_region; });
    }
    if (c.n > 1 && closest_) {
      // The nearest region: the one holding the candidate with the smallest distance.
      int best = c.data[0];
      for (size_t k = 1; k < c.n; ++k)
        if (distance_us(req.servers[c.data[k]]) < distance_us(req.servers[best])) best = c.data[k];
      const std::string& region = req.servers[best].cfg->region;
      narrow(c, [&](int i) { return req.servers[i].cfg->region == region; });
    }
    if (c.n > 1 && req.server_soft)  // those below their soft limit (the server's, else the app's)
      narrow(c, [&](int i) {
        const int soft = req.servers[i].cfg->soft > 0 ? req.servers[i].cfg->soft : req.soft_limit;
        return soft <= 0 || req.servers[i].state->load() < soft;
      });
    else if (c.n > 1 && req.soft_limit > 0)  // those below the soft limit, when any
      narrow(c, [&](int i) { return req.servers[i].state->load() < req.soft_limit; });
    return c;
  }

 private:
  bool closest_;
  std::vector<int> spill_;
};

// Power of two choices. Two distinct candidates are sampled with probability proportional to
// their weight (the second among the remaining ones), so weight is already in the sampling;
// the one with the lower score wins:
//   score = (load + 1) * max(ewma_latency_us, 1)
// Ties go to the first sample (itself random). Compared in 128-bit integers, no rounding.
// A latency EWMA only changes when its server is picked, so a server that once answered
// slowly would lose every comparison for ever on stale data. To avoid that, a server that
// loses with the higher latency has its EWMA aged by 1/16 (a shared relaxed store, only on
// such losses).
//
// Latency alone never starves a server. With little concurrency every load is 0 and latency
// alone decides: aging needs ~65 lost comparisons to undo one slow first response (measured: a
// new connection answered in 22 ms, warm ones in 0.3 ms), and a server that really is a few
// times slower loses nearly every comparison (measured: on a loaded host one of three
// identical test backends was 4 to 19 times slower for a whole run and got 9 to 28 of 300
// requests). So a server that has lost kMaxLatencyLosses comparisons in a row on latency alone
// (higher score, load no higher than the winner's) wins its next comparison: it gets a fresh
// sample, and its share stays at or above about a third of its fair one (1 of the 6
// comparisons). A server that loses being busier than the other, or on a tie, is not helped.
// losses_ is this balancer's own (the owning worker's), indexed like req.servers.
class RandomBalancer final : public BalancerBase {
 public:
  RandomBalancer(size_t count, uint64_t seed, bool closest) : BalancerBase(count, closest), rng_{seed} {}

  int pick(const PickRequest& req) override {
    int buf[kInline];
    Candidates c = collect(req, buf);
    if (c.n == 0) return -1;
    if (c.n == 1) return c.data[0];
    uint64_t total = 0;
    for (size_t k = 0; k < c.n; ++k) total += weight(req, c.data[k]);
    const size_t a = sample(req, c, total, c.n);
    const size_t b = sample(req, c, total - weight(req, c.data[a]), a);
    const Side sa = side(req, c.data[a]), sb = side(req, c.data[b]);
    const bool b_wins = sb.score() < sa.score();
    const Side& winner = b_wins ? sb : sa;
    const Side& loser = b_wins ? sa : sb;
    if (losses_.size() != req.servers.size()) losses_.assign(req.servers.size(), 0);
    int picked = winner.index;
    const bool on_latency = loser.score() > winner.score() && loser.load <= winner.load;
    if (on_latency && losses_[loser.index] >= kMaxLatencyLosses) {
      picked = loser.index;  // its turn (see above)
    } else {
      if (on_latency) ++losses_[loser.index];
      if (loser.latency > winner.latency) age(req.servers[loser.index].state->ewma_latency_us, loser.latency);
    }
    losses_[picked] = 0;
    return picked;
  }

 private:
  static constexpr uint32_t kMaxLatencyLosses = 5;

  using U = unsigned __int128;
  // One sampled candidate, read once (other workers update the atomics meanwhile).
  struct Side {
    int index;
    U load;            // max(load(), 0) + 1
    uint32_t latency;  // ewma_latency_us
    U score() const { return load * std::max<uint32_t>(latency, 1); }
  };

  static Side side(const PickRequest& req, int i) {
    const ServerState& s = *req.servers[i].state;
    return Side{i, static_cast<U>(std::max(s.load(), 0)) + 1, s.ewma_latency_us.load(std::memory_order_relaxed)};
  }

  // A loser whose latency is higher than the winner's: see the class comment.
  static void age(std::atomic<uint32_t>& ewma, uint32_t lv) { ewma.store(lv - lv / 16, std::memory_order_relaxed); }

  static uint64_t weight(const PickRequest& req, int i) { return static_cast<uint64_t>(req.servers[i].cfg->weight); }

  // Weighted sample among candidates except position `skip` (c.n = skip nothing).
  size_t sample(const PickRequest& req, const Candidates& c, uint64_t total, size_t skip) {
    uint64_t r = rng_.below(total);
    size_t last = c.n;
    for (size_t k = 0; k < c.n; ++k) {
      if (k == skip) continue;
      last = k;
      const uint64_t w = weight(req, c.data[k]);
      if (r < w) return k;
      r -= w;
    }
    return last;  // unreachable with consistent weights
  }

  SplitMix64 rng_;
  std::vector<uint32_t> losses_;  // per server: comparisons lost on latency since its last pick
};

// Smooth weighted round robin (nginx, ngx_http_upstream_get_peer): each candidate's current
// weight grows by its weight; the largest wins and loses the total. Only candidates take part
// in a pick, so an ineligible server neither gains nor loses.
class RoundRobinBalancer final : public BalancerBase {
 public:
  explicit RoundRobinBalancer(size_t count) : BalancerBase(count), current_(count, 0) {}

  int pick(const PickRequest& req) override {
    if (current_.size() != req.servers.size()) current_.assign(req.servers.size(), 0);
    int buf[kInline];
    Candidates c = collect(req, buf);
    if (c.n == 0) return -1;
    int64_t total = 0;
    int best = -1;
    for (size_t k = 0; k < c.n; ++k) {
      const int i = c.data[k];
      const int64_t w = req.servers[i].cfg->weight;
      current_[i] += w;
      total += w;
      if (best < 0 || current_[i] > current_[best]) best = i;
    }
    current_[best] -= total;
    return best;
  }

 private:
  std::vector<int64_t> current_;
};

// Fewest inflight relative to weight (inflight_a * weight_b < inflight_b * weight_a). The scan
// starts at a rotating offset, so equal candidates are taken in turn.
class LeastConnBalancer final : public BalancerBase {
 public:
  explicit LeastConnBalancer(size_t count) : BalancerBase(count) {}

  int pick(const PickRequest& req) override {
    int buf[kInline];
    Candidates c = collect(req, buf);
    if (c.n == 0) return -1;
    const size_t start = static_cast<size_t>(next_++ % c.n);
    int best = -1;
    int64_t best_in = 0, best_w = 1;
    for (size_t j = 0; j < c.n; ++j) {
      const int i = c.data[(start + j) % c.n];
      const int64_t in = std::max(req.servers[i].state->load(), 0);
      const int64_t w = req.servers[i].cfg->weight;
      if (best < 0 || in * best_w < best_in * w) {
        best = i;
        best_in = in;
        best_w = w;
      }
    }
    return best;
  }

 private:
  uint64_t next_ = 0;
};

}  // namespace

std::unique_ptr<Balancer> Balancer::make(config::Balance kind, size_t server_count, uint64_t seed) {
  switch (kind) {
    case config::Balance::roundrobin:
      return std::make_unique<RoundRobinBalancer>(server_count);
    case config::Balance::leastconn:
      return std::make_unique<LeastConnBalancer>(server_count);
    case config::Balance::closest:
      return std::make_unique<RandomBalancer>(server_count, seed, true);
    case config::Balance::random:
      break;
  }
  return std::make_unique<RandomBalancer>(server_count, seed, false);
}

}  // namespace ferry::proxy
