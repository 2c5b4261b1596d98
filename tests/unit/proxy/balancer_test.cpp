#include <catch2/catch.hpp>

#include <deque>
#include <map>
#include <string>
#include <vector>

#include "balance/balancer.h"

using namespace ferry;
using namespace ferry::proxy;

namespace {

struct Pool {
  std::deque<config::Server> cfgs;
  std::deque<ServerState> states;
  std::vector<ServerRef> refs;

  explicit Pool(std::vector<int> weights) {
    for (size_t i = 0; i < weights.size(); ++i) add(weights[i]);
  }
  void add(int weight, bool backup = false) {
    config::Server s;
    s.name = "s" + std::to_string(cfgs.size());
    s.weight = weight;
    s.backup = backup;
    cfgs.push_back(s);
    states.emplace_back();
    refs.clear();
    for (size_t i = 0; i < cfgs.size(); ++i) refs.push_back(ServerRef{&cfgs[i], &states[i]});
  }
  PickRequest req(int64_t now = 1000) const {
    PickRequest r;
    r.servers = refs;
    r.now = now;
    return r;
  }
};

std::vector<int> counts(Balancer& b, const PickRequest& r, int n, size_t servers) {
  std::vector<int> c(servers + 1, 0);
  for (int i = 0; i < n; ++i) {
    int k = b.pick(r);
    c[k < 0 ? servers : static_cast<size_t>(k)]++;
  }
  return c;
}

}  // namespace

TEST_CASE("eligible() checks disabled, weight, health, ejection and maxconn", "[balancer]") {
  Pool p({1});
  const int64_t now = 1000;
  REQUIRE(eligible(p.refs[0], now));
  p.cfgs[0].disabled = true;
  CHECK_FALSE(eligible(p.refs[0], now));
  p.cfgs[0].disabled = false;
  p.cfgs[0].weight = 0;
  CHECK_FALSE(eligible(p.refs[0], now));
  p.cfgs[0].weight = 1;
  p.states[0].healthy = false;
  CHECK_FALSE(eligible(p.refs[0], now));
  p.states[0].healthy = true;
  p.states[0].ejected_until_ms = now + 1;
  CHECK_FALSE(eligible(p.refs[0], now));
  CHECK(eligible(p.refs[0], now + 1));  // ejection over
  p.states[0].ejected_until_ms = 0;
  p.cfgs[0].maxconn = 2;
  p.states[0].inflight = 2;
  CHECK_FALSE(eligible(p.refs[0], now));
  p.states[0].inflight = 1;
  CHECK(eligible(p.refs[0], now));
  CHECK_FALSE(eligible(ServerRef{}, now));
}

TEST_CASE("roundrobin 5:1:1 gives exact counts and smooth interleaving", "[balancer]") {
  Pool p({5, 1, 1});
  auto b = Balancer::make(config::Balance::roundrobin, 3, 1);
  auto r = p.req();
  std::string seq;
  for (int i = 0; i < 14; ++i) seq += static_cast<char>('a' + b->pick(r));
  CHECK(seq == "aabacaaaabacaa");  // nginx's smooth sequence (a a b a c a a), repeated
  auto c = counts(*b, r, 7000, 3);
  CHECK(c[0] == 5000);
  CHECK(c[1] == 1000);
  CHECK(c[2] == 1000);
  CHECK(c[3] == 0);
  // Smooth: `a` never runs more than 4 times in a row (plain weighted RR would run 5).
  int run = 0, max_run = 0;
  for (int i = 0; i < 700; ++i) {
    run = b->pick(r) == 0 ? run + 1 : 0;
    max_run = std::max(max_run, run);
  }
  CHECK(max_run <= 4);
}

TEST_CASE("roundrobin equal weights alternates and skips ineligible servers", "[balancer]") {
  Pool p({1, 1, 1});
  auto b = Balancer::make(config::Balance::roundrobin, 3, 1);
  auto r = p.req();
  std::string seq;
  for (int i = 0; i < 6; ++i) seq += static_cast<char>('a' + b->pick(r));
  CHECK(seq == "abcabc");
  p.states[1].healthy = false;
  auto c = counts(*b, r, 100, 3);
  CHECK(c[1] == 0);
  CHECK(c[0] == 50);
  CHECK(c[2] == 50);
}

TEST_CASE("random P2C spreads by weight and prefers lower load", "[balancer]") {
  SECTION("equal load follows the weights") {
    Pool p({3, 1});
    auto b = Balancer::make(config::Balance::random, 2, 42);
    auto c = counts(*b, p.req(), 20000, 2);
    // With two servers both are always sampled; idle scores tie and the first sample, drawn
    // by weight, wins: 3:1.
    CHECK(c[0] == Approx(15000).epsilon(0.05));
    CHECK(c[1] == Approx(5000).epsilon(0.1));
  }
  SECTION("equal weights and scores split evenly") {
    Pool p({1, 1, 1, 1});
    auto b = Balancer::make(config::Balance::random, 4, 7);
    auto c = counts(*b, p.req(), 40000, 4);
    for (int i = 0; i < 4; ++i) CHECK(c[i] == Approx(10000).epsilon(0.05));
  }
  SECTION("a loaded server is rarely chosen") {
    Pool p({1, 1, 1, 1});
    p.states[0].inflight = 50;
    auto b = Balancer::make(config::Balance::random, 4, 9);
    auto c = counts(*b, p.req(), 10000, 4);
    CHECK(c[0] == 0);  // it loses every comparison it takes part in
    CHECK(c[1] + c[2] + c[3] == 10000);
  }
  SECTION("latency counts") {
    Pool p({1, 1});
    p.states[0].ewma_latency_us = 1000;
    p.states[1].ewma_latency_us = 100;
    p.states[1].inflight = 5;  // (5+1)*100 = 600 < (0+1)*1000
    auto b = Balancer::make(config::Balance::random, 2, 3);
    auto c = counts(*b, p.req(), 5, 2);
    CHECK(c[1] == 5);
    // Each lost comparison aged the slower server's latency by 1/16.
    CHECK(p.states[0].ewma_latency_us.load() < 1000);
    CHECK(p.states[0].ewma_latency_us.load() > 600);
  }
  SECTION("a server that answered slowly once is not starved") {
    Pool p({1, 1, 1});
    p.states[0].ewma_latency_us = 50000;  // one slow sample, never refreshed while unpicked
    p.states[1].ewma_latency_us = 2000;
    p.states[2].ewma_latency_us = 2000;
    auto b = Balancer::make(config::Balance::random, 3, 5);
    auto c = counts(*b, p.req(), 300, 3);
    CHECK(c[0] >= 30);
    CHECK(c[0] < 150);  // still preferred less while it looks slower
  }
  SECTION("weighted sampling is proportional among equal scores") {
    Pool p({2, 1, 1});
    auto b = Balancer::make(config::Balance::random, 3, 11);
    auto c = counts(*b, p.req(), 30000, 3);
    CHECK(c[3] == 0);
    CHECK(c[0] == Approx(15000).epsilon(0.05));
    CHECK(c[1] == Approx(7500).epsilon(0.08));
    CHECK(c[2] == Approx(7500).epsilon(0.08));
  }
  SECTION("deterministic for a seed") {
    Pool p({1, 1, 1, 1, 1});
    auto b1 = Balancer::make(config::Balance::random, 5, 123);
    auto b2 = Balancer::make(config::Balance::random, 5, 123);
    for (int i = 0; i < 100; ++i) CHECK(b1->pick(p.req()) == b2->pick(p.req()));
  }
}

TEST_CASE("leastconn picks fewest inflight per weight and rotates ties", "[balancer]") {
  Pool p({1, 1, 2});
  auto b = Balancer::make(config::Balance::leastconn, 3, 1);
  auto r = p.req();
  p.states[0].inflight = 3;
  p.states[1].inflight = 1;
  p.states[2].inflight = 4;  // 4/2 = 2 > 1
  CHECK(b->pick(r) == 1);
  p.states[1].inflight = 3;  // 3 vs 3 vs 2 -> server 2
  CHECK(b->pick(r) == 2);
  // All zero: ties rotate.
  for (auto& s : p.states) s.inflight = 0;
  auto c = counts(*b, r, 300, 3);
  CHECK(c[0] == 100);
  CHECK(c[1] == 100);
  CHECK(c[2] == 100);
  // Simulate callers holding connections: load spreads in proportion to weight.
  for (int i = 0; i < 40; ++i) p.states[b->pick(r)].inflight++;
  CHECK(p.states[0].inflight == 10);
  CHECK(p.states[1].inflight == 10);
  CHECK(p.states[2].inflight == 20);
}

TEST_CASE("backups are used only when no primary is eligible", "[balancer]") {
  for (auto kind : {config::Balance::random, config::Balance::roundrobin, config::Balance::leastconn}) {
    Pool p({1, 1});
    p.add(1, /*backup=*/true);
    auto b = Balancer::make(kind, 3, 5);
    auto r = p.req();
    auto c = counts(*b, r, 200, 3);
    CHECK(c[2] == 0);
    CHECK(c[0] + c[1] == 200);
    p.states[0].healthy = false;
    p.cfgs[1].disabled = true;
    c = counts(*b, r, 50, 3);
    CHECK(c[2] == 50);
    p.states[2].ejected_until_ms = r.now + 100;
    CHECK(b->pick(r) == -1);
  }
}

TEST_CASE("tried servers are skipped; -1 when none is left", "[balancer]") {
  for (auto kind : {config::Balance::random, config::Balance::roundrobin, config::Balance::leastconn}) {
    Pool p({1, 1, 1});
    auto b = Balancer::make(kind, 3, 5);
    std::vector<bool> tried{true, false, true};
    auto r = p.req();
    r.tried = &tried;
    for (int i = 0; i < 20; ++i) CHECK(b->pick(r) == 1);
    tried[1] = true;
    CHECK(b->pick(r) == -1);
  }
  Pool empty({});
  auto b = Balancer::make(config::Balance::random, 0, 1);
  CHECK(b->pick(empty.req()) == -1);
}

TEST_CASE("soft limit prefers servers below it", "[balancer]") {
  for (auto kind : {config::Balance::random, config::Balance::roundrobin, config::Balance::leastconn}) {
    Pool p({10, 1, 1});
    p.states[0].inflight = 5;
    p.states[1].inflight = 4;
    p.states[2].inflight = 6;
    auto b = Balancer::make(kind, 3, 5);
    auto r = p.req();
    r.soft_limit = 5;
    for (int i = 0; i < 20; ++i) CHECK(b->pick(r) == 1);
    // Everyone at or over the soft limit: ignore it, pick normally.
    p.states[1].inflight = 5;
    int k = b->pick(r);
    CHECK(k >= 0);
    // Soft limit 0 = off.
    r.soft_limit = 0;
    CHECK(b->pick(r) >= 0);
  }
}

TEST_CASE("large backends (over the inline buffer) work", "[balancer]") {
  std::vector<int> w(200, 1);
  Pool p(w);
  for (auto kind : {config::Balance::random, config::Balance::roundrobin, config::Balance::leastconn}) {
    auto b = Balancer::make(kind, 200, 5);
    auto r = p.req();
    auto c = counts(*b, r, 2000, 200);
    CHECK(c[200] == 0);
    if (kind != config::Balance::random) {
      for (int i = 0; i < 200; ++i) CHECK(c[i] == 10);
    }
  }
}

namespace {

// Sequential traffic, as one keep-alive client makes: every load stays 0, and each response
// time is folded into its server's EWMA (ServerState::record_success) before the next pick.
// `latency(server, first)` is the response time in microseconds (first: the server's first
// pick). Returns, per server, its pick count and the longest run of picks without it.
struct Spread {
  std::vector<int> picks, longest_gap;
};

template <class F>
Spread sequential(Balancer& b, Pool& p, int n, F latency) {
  const size_t m = p.states.size();
  Spread s{std::vector<int>(m, 0), std::vector<int>(m, 0)};
  std::vector<int> last(m, -1);
  for (int k = 0; k < n; ++k) {
    const int i = b.pick(p.req());
    REQUIRE(i >= 0);
    p.states[i].record_success(latency(i, s.picks[i] == 0));
    s.picks[i]++;
    s.longest_gap[i] = std::max(s.longest_gap[i], k - last[i] - 1);
    last[i] = k;
  }
  for (size_t i = 0; i < m; ++i) s.longest_gap[i] = std::max(s.longest_gap[i], n - last[i] - 1);
  return s;
}

}  // namespace

// Measured in tests/integration/test_balancing.py test_random_spreads on a loaded host (three
// identical Python backends, one keep-alive client): a server's first response, on a new
// connection, took up to 22 ms against 0.3 ms for warm ones; in the runs that starved a
// server, that server answered 4 to 19 times slower than the others for the whole run. With
// sequential traffic every load is 0, so latency alone decides each comparison.
TEST_CASE("random P2C: latency alone does not starve a server", "[balancer]") {
  SECTION("one slow first response") {
    for (uint64_t seed = 1; seed <= 50; ++seed) {
      Pool p({1, 1, 1});
      auto b = Balancer::make(config::Balance::random, 3, seed);
      auto s = sequential(*b, p, 300, [](int i, bool first) -> uint32_t { return i == 0 && first ? 22000 : 300; });
      INFO("seed " << seed << " picks " << s.picks[0] << "/" << s.picks[1] << "/" << s.picks[2]);
      CHECK(s.longest_gap[0] <= 30);  // tried again soon, despite its stale 73x EWMA
      CHECK(s.picks[0] >= 60);
    }
  }
  SECTION("a server ten times slower") {
    for (uint64_t seed = 1; seed <= 50; ++seed) {
      Pool p({1, 1, 1});
      auto b = Balancer::make(config::Balance::random, 3, seed);
      auto s = sequential(*b, p, 600, [](int i, bool) -> uint32_t { return i == 0 ? 3000 : 300; });
      INFO("seed " << seed << " picks " << s.picks[0] << "/" << s.picks[1] << "/" << s.picks[2]);
      CHECK(s.longest_gap[0] <= 30);
      CHECK(s.picks[0] >= 50);   // about a third of a fair share (200) at least, less a margin
      CHECK(s.picks[0] < 150);   // but the faster servers are preferred
    }
  }
}
