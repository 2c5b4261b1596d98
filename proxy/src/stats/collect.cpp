#include "stats/collect.h"

namespace ferry::proxy {

void collect_stats(const Plan& plan, int64_t now, EngineStats& out) {
  out.apps.reserve(plan.apps.size());
  for (const PlanApp& pa : plan.apps) {
    AppStats& a = out.apps.emplace_back();
    a.name = pa.cfg->name;
    a.mode = pa.cfg->mode == config::Mode::tcp ? "tcp" : "http";
    a.backend = plan.backends[pa.backend].cfg->name;
    pa.stats->sum_into(a);
    stats::finish_histogram(a.duration);
    stats::finish_histogram(a.queue_wait);
    a.inflight = pa.budget->inflight();
    a.queued = pa.budget->queued();
    a.soft = pa.budget->soft();
    a.hard = pa.budget->hard();
  }
  for (const PlanBackend& pb : plan.backends) {
    for (size_t i = 0; i < pb.servers.size(); ++i) {
      const ServerRef& ref = pb.servers[i];
      const ServerState& st = *ref.state;
      ServerStats& s = out.servers.emplace_back();
      s.backend = pb.cfg->name;
      // The configured server (a remote one's `cfg` in the plan carries the backhaul address).
      const config::Server& c = *pb.configured[i];
      s.catalog = c.catalog;
      s.name = c.name;
      s.address = c.addr.to_string();
      s.node = c.node;
      s.region = c.region;
      s.ejected = st.ejected(now);
      s.healthy = st.healthy.load(std::memory_order_relaxed) && !s.ejected &&
                  (ref.peer == nullptr || st.remote_healthy.load(std::memory_order_relaxed));
      s.drained = st.drained.load(std::memory_order_relaxed);
      s.disabled = c.disabled;
      s.inflight = st.inflight.load(std::memory_order_relaxed);
      s.remote_inflight = st.remote_inflight.load(std::memory_order_relaxed);
      s.ewma_latency_us = st.ewma_latency_us.load(std::memory_order_relaxed);
      s.connect_errors = st.connect_errors.load(std::memory_order_relaxed);
      s.retries = st.retries.load(std::memory_order_relaxed);
      s.responses = st.responses.load(std::memory_order_relaxed);
    }
  }
  for (const PlanFrontend& pf : plan.frontends) {
    FrontendStats& f = out.frontends.emplace_back();
    f.name = pf.cfg->name;
    pf.stats->sum_into(f);
  }
}

}  // namespace ferry::proxy
