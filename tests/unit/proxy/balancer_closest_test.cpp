// balance closest, remote-server eligibility and routing hints.
#include <catch2/catch.hpp>

#include <deque>
#include <string>
#include <vector>

#include "balance/balancer.h"
#include "runtime/peer_state.h"

using namespace ferry;
using namespace ferry::proxy;

namespace {

// Servers in regions; a server with a peer index is remote (on that PeerState).
struct Mesh {
  std::deque<config::Server> cfgs;
  std::deque<ServerState> states;
  std::deque<PeerState> peers;
  std::vector<ServerRef> refs;

  PeerState& peer(uint32_t rtt_us) {
    peers.emplace_back();
    peers.back().rtt_us = rtt_us;
    return peers.back();
  }
  int add(const std::string& name, const std::string& region, PeerState* p = nullptr) {
    config::Server s;
    s.name = name;
    s.region = region;
    s.peer = p ? 0 : -1;
    cfgs.push_back(s);
    states.emplace_back();
    refs.clear();
    for (size_t i = 0; i < cfgs.size(); ++i) refs.push_back(ServerRef{&cfgs[i], &states[i], nullptr});
    // Re-attach peers (refs are rebuilt): the caller passes them in order via peer_of.
    peer_of.push_back(p);
    for (size_t i = 0; i < refs.size(); ++i) refs[i].peer = peer_of[i];
    return static_cast<int>(cfgs.size() - 1);
  }
  std::vector<PeerState*> peer_of;

  std::vector<int> picks(Balancer& b, int n, const RoutingHints* h = nullptr, std::vector<bool>* tried = nullptr,
                         int soft = 0) {
    std::vector<int> c(cfgs.size() + 1, 0);
    for (int i = 0; i < n; ++i) {
      PickRequest r;
      r.servers = refs;
      r.now = 1000;
      r.hints = h;
      r.tried = tried;
      r.soft_limit = soft;
      int k = b.pick(r);
      c[k < 0 ? cfgs.size() : static_cast<size_t>(k)]++;
    }
    return c;
  }
};

}  // namespace

TEST_CASE("closest: the nearest region wins, spill only when none is eligible", "[balancer][closest]") {
  Mesh m;
  PeerState& dfw = m.peer(30'000);
  PeerState& syd = m.peer(150'000);
  const int d1 = m.add("d1", "dfw", &dfw), d2 = m.add("d2", "dfw", &dfw);
  const int s1 = m.add("s1", "syd", &syd);
  auto b = Balancer::make(config::Balance::closest, m.cfgs.size(), 7);
  auto c = m.picks(*b, 200);
  CHECK(c[s1] == 0);
  CHECK(c[d1] + c[d2] == 200);
  CHECK(c[d1] > 40);  // both dfw instances share the load
  CHECK(c[d2] > 40);

  // A local server (distance 0) beats every remote one.
  const int l1 = m.add("l1", "yyz");
  auto bl = Balancer::make(config::Balance::closest, m.cfgs.size(), 7);
  CHECK(m.picks(*bl, 50)[l1] == 50);
  m.cfgs[l1].disabled = true;

  // dfw at its hard limit (maxconn): spill to syd.
  m.cfgs[d1].maxconn = m.cfgs[d2].maxconn = 1;
  m.states[d1].inflight = 1;
  m.states[d2].remote_inflight = 1;  // the hosting node's report counts too
  c = m.picks(*b, 20);
  CHECK(c[s1] == 20);
  m.states[d1].inflight = 0;
  m.states[d2].remote_inflight = 0;

  // dfw unreachable: syd; dfw's instance unhealthy there: the other dfw one.
  dfw.reachable = false;
  CHECK(m.picks(*b, 20)[s1] == 20);
  dfw.reachable = true;
  m.states[d1].remote_healthy = false;
  CHECK(m.picks(*b, 20)[d2] == 20);
  m.states[d1].remote_healthy = true;

  // A retry excludes the tried server: the other dfw instance, then syd.
  std::vector<bool> tried(m.cfgs.size(), false);
  tried[d1] = true;
  CHECK(m.picks(*b, 10, nullptr, &tried)[d2] == 10);
  tried[d2] = true;
  CHECK(m.picks(*b, 10, nullptr, &tried)[s1] == 10);

  // RTT changes move traffic: syd becomes nearer.
  syd.rtt_us = 1'000;
  CHECK(m.picks(*b, 20)[s1] == 20);
}

TEST_CASE("closest: a peer not measured yet is behind measured ones and local servers", "[balancer][closest]") {
  Mesh m;
  PeerState& fresh = m.peer(0);  // no PING answer yet, no `latency`
  PeerState& syd = m.peer(150'000);
  const int f1 = m.add("f1", "new", &fresh);
  const int s1 = m.add("s1", "syd", &syd);
  auto b = Balancer::make(config::Balance::closest, m.cfgs.size(), 9);
  CHECK(m.picks(*b, 20)[s1] == 20);
  fresh.rtt_us = 1'000;  // measured: now nearest
  CHECK(m.picks(*b, 20)[f1] == 20);
}

TEST_CASE("closest: soft limit applies within the region, not across", "[balancer][closest]") {
  Mesh m;
  PeerState& dfw = m.peer(30'000);
  PeerState& syd = m.peer(150'000);
  const int d1 = m.add("d1", "dfw", &dfw), d2 = m.add("d2", "dfw", &dfw);
  const int s1 = m.add("s1", "syd", &syd);
  auto b = Balancer::make(config::Balance::closest, m.cfgs.size(), 3);
  m.states[d1].inflight = 5;  // above soft 2
  auto c = m.picks(*b, 30, nullptr, nullptr, 2);
  CHECK(c[d2] == 30);
  m.states[d2].inflight = 5;  // the whole region above soft: still dfw (no spill for soft)
  c = m.picks(*b, 30, nullptr, nullptr, 2);
  CHECK(c[s1] == 0);
}

TEST_CASE("routing hints: force and prefer, region and instance", "[balancer][hints]") {
  Mesh m;
  PeerState& dfw = m.peer(30'000);
  PeerState& syd = m.peer(150'000);
  const int d1 = m.add("d1", "dfw", &dfw);
  const int s1 = m.add("s1", "syd", &syd), s2 = m.add("s2", "syd", &syd);
  for (auto kind : {config::Balance::closest, config::Balance::random, config::Balance::roundrobin,
                    config::Balance::leastconn}) {
    auto b = Balancer::make(kind, m.cfgs.size(), 5);
    RoutingHints h;
    h.force_region = "syd";
    auto c = m.picks(*b, 20, &h);
    CHECK(c[s1] + c[s2] == 20);
    h = {};
    h.force_instance = "s2";
    CHECK(m.picks(*b, 10, &h)[s2] == 10);
    m.cfgs[s2].disabled = true;  // forced and not eligible: none
    CHECK(m.picks(*b, 5, &h)[m.cfgs.size()] == 5);
    h = {};
    h.prefer_instance = "s2";  // preferred but not eligible: the normal choice
    CHECK(m.picks(*b, 5, &h)[m.cfgs.size()] == 0);
    m.cfgs[s2].disabled = false;
    CHECK(m.picks(*b, 5, &h)[s2] == 5);
    h = {};
    h.prefer_region = "syd";
    c = m.picks(*b, 20, &h);
    CHECK(c[d1] == 0);
    h.prefer_region = "nowhere";  // no match: ignored
    CHECK(m.picks(*b, 5, &h)[m.cfgs.size()] == 0);
  }
}
