#include "mesh/prober.h"

#include <algorithm>
#include <map>

#include "log/log.h"
#include "mesh/fetch.h"
#include "mesh/load_report.h"
#include "upstream/h2_upstream.h"
#include "worker/context.h"

namespace ferry::proxy {

namespace {

struct ProbeState {
  bool pinging = false;    // a PING is in flight (PINGs to one peer never overlap)
  bool reporting = false;  // a load report fetch is in flight (never overlaps either)
  int64_t started_ms = 0;  // when probing this peer began (stands for the last answer at first)
  int64_t next_at = 0;     // now_ms() of the next PING
};

struct Probe {
  WorkerContext& w;
  std::shared_ptr<const WorkerPlan> wp;  // keeps the plan (and its peer list) alive
  int idx;
  std::shared_ptr<ProbeState> ps;

  const config::MeshPeer& peer_config() const { return wp->plan->config->mesh->peers[idx]; }
  PeerState& peer() const { return *wp->plan->peers[idx]; }
  H2Upstreams::Target target() const {
    const config::MeshPeer& p = peer_config();
    std::error_code ec;
    return {peer().backhaul, tcp::endpoint(asio::ip::make_address(p.backhaul.host, ec), p.backhaul.port), nullptr,
            p.backhaul.host, false};
  }
};

// Fetches and applies the peer's load report. Runs apart from the PINGs: a report that hangs
// (a peer that died right after answering a PING) must not hold the next PING back, or the
// verdict would come up to twice peer-timeout late.
awaitable<void> fetch_report(Probe pr) {
  const Plan& plan = *pr.wp->plan;
  const auto timeout = plan.config->mesh->peer_timeout;
  std::vector<OursBefore> ours = ours_before_report(plan, pr.idx);
  const FetchResult report = co_await fetch_from_peer(pr.w, pr.target(), kLoadReportPath, timeout, timeout,
                                                       4 * 1024 * 1024);
  if (report.status == 200 && apply_load_report(plan, pr.idx, report.body, ours) >= 0)
    pr.peer().last_report_ms.store(now_ms(), std::memory_order_relaxed);
  pr.ps->reporting = false;
}

awaitable<void> ping_peer(Probe pr) {
  const config::MeshPeer& p = pr.peer_config();
  PeerState& peer = pr.peer();
  auto rtt = co_await pr.w.h2_upstreams().ping(pr.target(), pr.wp->plan->config->mesh->peer_timeout);
  peer.pings.fetch_add(1, std::memory_order_relaxed);
  if (rtt) {
    peer.last_answer_ms.store(now_ms(), std::memory_order_relaxed);
    if (p.latency.count() == 0) {
      const auto us = static_cast<uint32_t>(std::max<int64_t>(rtt->count(), 1));
      const uint32_t old = peer.rtt_us.load(std::memory_order_relaxed);
      peer.rtt_us.store(old == 0 ? us : old - old / 4 + us / 4, std::memory_order_relaxed);
    }
    if (!peer.reachable.exchange(true, std::memory_order_relaxed))
      log(config::LogLevel::notice, "mesh: peer " + p.name + " answers again (rtt " + std::to_string(rtt->count()) + " us)");
    if (!pr.ps->reporting) {
      pr.ps->reporting = true;
      asio::co_spawn(pr.w.io(), fetch_report(pr), asio::detached);
    }
  } else {
    peer.ping_failures.fetch_add(1, std::memory_order_relaxed);
    // Still unreachable: the connection this PING used is not kept, the next one connects
    // afresh. (The verdict itself is judge()'s; a single missed answer closes nothing.)
    if (!peer.reachable.load(std::memory_order_relaxed)) pr.w.h2_upstreams().close_all(peer.backhaul.get());
  }
  pr.ps->pinging = false;
}

// The verdict, on every tick of the prober: unreachable once no PING was answered for
// `peer-timeout` (counted from the start of probing before the first answer), whatever is in
// flight. Its connections are closed at once, so the streams on them fail over now.
void judge(const Probe& pr, int64_t now) {
  PeerState& peer = pr.peer();
  const int64_t last = std::max(peer.last_answer_ms.load(std::memory_order_relaxed), pr.ps->started_ms);
  if (now - last < pr.wp->plan->config->mesh->peer_timeout.count()) return;
  if (!peer.reachable.exchange(false, std::memory_order_relaxed)) return;
  log(config::LogLevel::warning, "mesh: peer " + pr.peer_config().name + " unreachable (no PING answer on " +
                                     pr.peer_config().backhaul.to_string() + " for " + std::to_string(now - last) +
                                     " ms)");
  pr.w.h2_upstreams().close_all(peer.backhaul.get());
}

}  // namespace

awaitable<void> run_mesh_prober(WorkerContext& w) {
  asio::steady_timer t(w.io());
  // Per peer (by its runtime state, which survives reloads while the peer is unchanged).
  std::map<std::shared_ptr<PeerState>, std::shared_ptr<ProbeState>> state;
  const WorkerPlan* seen = nullptr;
  for (;;) {
    t.expires_after(std::chrono::milliseconds(50));
    auto [ec] = co_await t.async_wait(use_nothrow);
    if (ec) co_return;
    auto wp = w.plan();
    if (!wp || (!wp->plan->config->mesh && state.empty())) continue;
    const Plan& plan = *wp->plan;
    if (wp.get() != seen) {  // a new plan: forget dropped peers, close their connections
      seen = wp.get();
      for (auto it = state.begin(); it != state.end();) {
        if (std::find(plan.peers.begin(), plan.peers.end(), it->first) != plan.peers.end()) {
          ++it;
          continue;
        }
        w.h2_upstreams().close_all(it->first->backhaul.get());
        it = state.erase(it);
      }
    }
    if (!plan.config->mesh) continue;
    const int64_t now = now_ms();
    for (size_t i = 0; i < plan.peers.size(); ++i) {
      auto& ps = state[plan.peers[i]];
      if (!ps) ps = std::make_shared<ProbeState>(ProbeState{false, false, now, 0});
      const Probe pr{w, wp, static_cast<int>(i), ps};
      judge(pr, now);
      if (ps->pinging || now < ps->next_at) continue;
      ps->next_at = now + plan.config->mesh->ping_interval.count();
      ps->pinging = true;
      asio::co_spawn(w.io(), ping_peer(pr), asio::detached);
    }
  }
}

}  // namespace ferry::proxy
