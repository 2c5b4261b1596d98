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
  bool busy = false;       // a probe is running (probes of one peer never overlap)
  int64_t started_ms = 0;  // when probing this peer began (stands for the last answer at first)
  int64_t next_at = 0;     // now_ms() of the next probe
};

awaitable<void> probe_peer(WorkerContext& w, std::shared_ptr<const WorkerPlan> wp, int idx, std::shared_ptr<ProbeState> ps) {
  const Plan& plan = *wp->plan;
  const config::Mesh& mesh = *plan.config->mesh;
  const config::MeshPeer& p = mesh.peers[idx];
  PeerState& peer = *plan.peers[idx];
  std::error_code ec;
  tcp::endpoint ep(asio::ip::make_address(p.backhaul.host, ec), p.backhaul.port);
  H2Upstreams::Target t{peer.backhaul, ep, nullptr, p.backhaul.host, false};
  auto rtt = co_await w.h2_upstreams().ping(t, mesh.peer_timeout);
  const int64_t now = now_ms();
  peer.pings.fetch_add(1, std::memory_order_relaxed);
  if (rtt) {
    peer.last_answer_ms.store(now, std::memory_order_relaxed);
    if (p.latency.count() == 0) {
      const auto us = static_cast<uint32_t>(std::max<int64_t>(rtt->count(), 1));
      const uint32_t old = peer.rtt_us.load(std::memory_order_relaxed);
      peer.rtt_us.store(old == 0 ? us : old - old / 4 + us / 4, std::memory_order_relaxed);
    }
    if (!peer.reachable.exchange(true, std::memory_order_relaxed))
      log(config::LogLevel::notice, "mesh: peer " + p.name + " answers again (rtt " + std::to_string(rtt->count()) + " us)");
    std::vector<OursBefore> ours = ours_before_report(plan, idx);
    const FetchResult report = co_await fetch_from_peer(w, t, kLoadReportPath, mesh.peer_timeout, mesh.peer_timeout,
                                                         4 * 1024 * 1024);
    if (report.status == 200 && apply_load_report(plan, idx, report.body, ours) >= 0)
      peer.last_report_ms.store(now_ms(), std::memory_order_relaxed);
  } else {
    peer.ping_failures.fetch_add(1, std::memory_order_relaxed);
    const int64_t last = std::max(peer.last_answer_ms.load(std::memory_order_relaxed), ps->started_ms);
    if (now - last >= mesh.peer_timeout.count()) {
      if (peer.reachable.exchange(false, std::memory_order_relaxed))
        log(config::LogLevel::warning, "mesh: peer " + p.name + " unreachable (no PING answer on " +
                                           p.backhaul.to_string() + " for " + std::to_string(now - last) + " ms)");
      // Unreachable: its connections are not reused (their streams fail over now), the next
      // PING connects afresh. A single missed answer before that closes nothing.
      w.h2_upstreams().close_all(peer.backhaul.get());
    }
  }
  ps->busy = false;
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
      if (!ps) ps = std::make_shared<ProbeState>(ProbeState{false, now, 0});
      if (ps->busy || now < ps->next_at) continue;
      ps->next_at = now + plan.config->mesh->ping_interval.count();
      ps->busy = true;
      asio::co_spawn(w.io(), probe_peer(w, wp, static_cast<int>(i), ps), asio::detached);
    }
  }
}

}  // namespace ferry::proxy
