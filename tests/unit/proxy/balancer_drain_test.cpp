// Admin drain (ServerState::drained): a drained server is never picked, in every balance
// mode, with and without routing hints; the others take its share; undrained it comes back.
#include <catch2/catch.hpp>

#include <deque>
#include <string>
#include <vector>

#include "balance/balancer.h"
#include "runtime/peer_state.h"

using namespace ferry;
using namespace ferry::proxy;

namespace {

struct Servers {
  std::deque<config::Server> cfgs;
  std::deque<ServerState> states;
  std::deque<PeerState> peers;
  std::vector<ServerRef> refs;

  void add(const std::string& name, const std::string& region, uint32_t peer_rtt_us = 0, bool backup = false) {
    config::Server s;
    s.name = name;
    s.region = region;
    s.backup = backup;
    const PeerState* p = nullptr;
    if (peer_rtt_us) {
      peers.emplace_back();
      peers.back().rtt_us = peer_rtt_us;
      p = &peers.back();
      s.peer = 0;
    }
    cfgs.push_back(s);
    states.emplace_back();
    refs.push_back(ServerRef{&cfgs.back(), &states.back(), p});
  }
  // How often each server was picked in `n` picks; the last entry counts -1 (none).
  std::vector<int> picks(Balancer& b, int n, const RoutingHints* h = nullptr) {
    std::vector<int> c(cfgs.size() + 1, 0);
    std::vector<bool> tried(cfgs.size(), false);
    for (int i = 0; i < n; ++i) {
      PickRequest r;
      r.servers = refs;
      r.now = 1000;
      r.hints = h;
      r.tried = &tried;
      int k = b.pick(r);
      c[k < 0 ? cfgs.size() : static_cast<size_t>(k)]++;
    }
    return c;
  }
};

}  // namespace

TEST_CASE("eligible() is false for a drained server", "[balancer][drain]") {
  Servers s;
  s.add("a", "");
  CHECK(eligible(s.refs[0], 1000));
  s.states[0].drained = true;
  CHECK_FALSE(eligible(s.refs[0], 1000));
  s.states[0].drained = false;
  CHECK(eligible(s.refs[0], 1000));
}

TEST_CASE("a drained server gets no picks in any balance mode", "[balancer][drain]") {
  for (auto mode : {config::Balance::random, config::Balance::roundrobin, config::Balance::leastconn,
                    config::Balance::closest}) {
    INFO("mode " << static_cast<int>(mode));
    Servers s;
    s.add("a", "r1");
    s.add("b", "r1");
    s.add("c", "r1");
    auto b = Balancer::make(mode, s.cfgs.size(), 42);
    s.states[1].drained = true;
    auto c = s.picks(*b, 300);
    CHECK(c[1] == 0);
    CHECK(c[0] > 0);
    CHECK(c[2] > 0);
    CHECK(c[3] == 0);
    // All drained: no server (the caller answers 503), not a drained one.
    s.states[0].drained = s.states[2].drained = true;
    c = s.picks(*b, 50);
    CHECK(c[3] == 50);
    // Undrained: picked again.
    s.states[0].drained = s.states[1].drained = s.states[2].drained = false;
    c = s.picks(*b, 300);
    CHECK(c[1] > 0);
  }
}

TEST_CASE("drain with closest, backups and routing hints", "[balancer][drain][closest]") {
  Servers s;
  s.add("near", "dfw", 10'000);
  s.add("far", "syd", 150'000);
  s.add("spare", "dfw", 10'000, true);
  auto b = Balancer::make(config::Balance::closest, s.cfgs.size(), 7);
  auto c = s.picks(*b, 100);
  CHECK(c[0] == 100);  // the nearest region
  s.states[0].drained = true;
  c = s.picks(*b, 100);
  CHECK(c[0] == 0);
  CHECK(c[1] == 100);  // the next region: a drained server is not a candidate at all
  CHECK(c[2] == 0);    // a backup only when no non-backup server is eligible
  s.states[1].drained = true;
  c = s.picks(*b, 100);
  CHECK(c[2] == 100);

  // force_instance naming a drained server: nothing (503), never the drained one.
  s.states[1].drained = false;
  RoutingHints force;
  force.force_instance = "near";
  c = s.picks(*b, 20, &force);
  CHECK(c[3] == 20);
  // prefer_instance naming it: the normal choice instead.
  RoutingHints prefer;
  prefer.prefer_instance = "near";
  c = s.picks(*b, 20, &prefer);
  CHECK(c[0] == 0);
  CHECK(c[1] == 20);
}
