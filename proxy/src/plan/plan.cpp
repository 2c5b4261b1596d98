#include "plan/plan.h"

namespace ferry::proxy {

std::string listener_key(const config::Frontend& fe, size_t bind_index) {
  const auto& b = fe.binds[bind_index];
  std::string key = b.addr.to_string();
  if (b.addr.port == 0) key += "|" + fe.name + "|" + std::to_string(bind_index);
  return key;
}

std::shared_ptr<ServerState> RuntimeRegistry::server(const std::string& backend, const config::Server& s) {
  auto [it, added] = servers_.try_emplace(backend + "/" + s.name + "@" + s.addr.to_string());
  if (added) it->second.state = std::make_shared<ServerState>();
  it->second.build = build_;
  const bool drained = !drained_.empty() && drained_.count({backend, s.name}) > 0;
  it->second.state->drained.store(drained, std::memory_order_relaxed);
  return it->second.state;
}

std::shared_ptr<AppBudget> RuntimeRegistry::budget(const std::string& app) {
  auto it = budgets_.find(app);
  std::shared_ptr<AppBudget> b = it != budgets_.end() ? it->second : std::make_shared<AppBudget>();
  budgets_used_[app] = b;
  return b;
}

std::shared_ptr<stats::AppCounters> RuntimeRegistry::app_stats(const std::string& app) {
  auto it = app_stats_.find(app);
  auto c = it != app_stats_.end() ? it->second : std::make_shared<stats::AppCounters>(workers_);
  app_stats_used_[app] = c;
  return c;
}

std::shared_ptr<stats::FrontendCounters> RuntimeRegistry::frontend_stats(const std::string& frontend) {
  auto it = fe_stats_.find(frontend);
  auto c = it != fe_stats_.end() ? it->second : std::make_shared<stats::FrontendCounters>(workers_);
  fe_stats_used_[frontend] = c;
  return c;
}

std::shared_ptr<PeerState> RuntimeRegistry::peer(const config::MeshPeer& p) {
  std::string key = p.name + "@" + p.backhaul.to_string();
  auto it = peers_.find(key);
  std::shared_ptr<PeerState> st = it != peers_.end() ? it->second : std::make_shared<PeerState>();
  if (p.latency.count() > 0)
    st->rtt_us.store(static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(p.latency).count()),
                     std::memory_order_relaxed);
  peers_used_[key] = st;
  return st;
}

std::shared_ptr<rules::RateLimiter> RuntimeRegistry::limiter(const std::string& key, const config::Rule& rule) {
  auto it = limiters_.find(key);
  auto l = it != limiters_.end() ? it->second
                                 : std::make_shared<rules::RateLimiter>(rule.per_hour, rule.burst, static_cast<uint64_t>(now_ms()));
  limiters_used_[key] = l;
  return l;
}

void RuntimeRegistry::retain_only_used() {
  limiters_ = std::move(limiters_used_);
  limiters_used_.clear();
  std::erase_if(servers_, [this](const auto& e) { return e.second.build != build_; });
  ++build_;
  budgets_ = std::move(budgets_used_);
  app_stats_ = std::move(app_stats_used_);
  fe_stats_ = std::move(fe_stats_used_);
  peers_ = std::move(peers_used_);
  budgets_used_.clear();
  app_stats_used_.clear();
  fe_stats_used_.clear();
  peers_used_.clear();
}

namespace {

// A section's rate-limit buckets from the registry: the same rule (position and settings) in
// the same section keeps its buckets across a reload.
rules::LimiterSource limiters_of(RuntimeRegistry& registry, std::string section) {
  return [&registry, section = std::move(section)](size_t i, const config::Rule& r) {
    const std::string key = section + " #" + std::to_string(i) + " " + std::to_string(r.per_hour) + "/h " +
                            std::to_string(r.burst) + " key " + std::to_string(static_cast<int>(r.key)) + r.name;
    return registry.limiter(key, r);
  };
}

// Adds one server to `pb`: `s` itself, or `owned` (a catalog instance's, which pb takes).
void add_server(Plan& plan, PlanBackend& pb, RuntimeRegistry& registry, const config::Server& s,
                std::unique_ptr<config::Server> owned) {
  auto st = registry.server(pb.cfg->name, s);
  if (s.soft > 0) pb.server_soft = true;
  pb.configured.push_back(owned ? owned.get() : &s);
  if (s.peer >= 0) {
    // Reached through the peer's backhaul: HTTP/2 cleartext (the mesh encrypts).
    auto r = std::make_unique<config::Server>(s);
    r->addr = plan.config->mesh->peers[s.peer].backhaul;
    r->proto = config::UpstreamProto::h2c;
    pb.servers.push_back(ServerRef{r.get(), st.get(), plan.peers[s.peer].get()});
    pb.owned.push_back(std::move(r));
    if (owned) pb.owned.push_back(std::move(owned));
  } else {
    // A local server carries no hosting node's report (it may have had one before a
    // reload made it local).
    st->remote_inflight.store(0, std::memory_order_relaxed);
    st->remote_queue.store(0, std::memory_order_relaxed);
    st->remote_healthy.store(true, std::memory_order_relaxed);
    pb.servers.push_back(ServerRef{owned ? owned.get() : &s, st.get()});
    if (owned) pb.owned.push_back(std::move(owned));
  }
  pb.states.push_back(std::move(st));
}

// The catalog's started instances of the apps whose backend is `b`.
void add_instances(Plan& plan, PlanBackend& pb, int b, RuntimeRegistry& registry, const std::vector<Instance>& instances) {
  const config::Config& cfg = *plan.config;
  std::set<std::string_view> names;
  for (const auto& s : pb.cfg->servers) names.insert(s.name);
  for (const Instance& in : instances) {
    if (in.state != InstanceState::started) continue;
    auto app = cfg.app_index.find(in.app);
    if (app == cfg.app_index.end() || cfg.apps[app->second].backend != b) continue;
    int peer = -1;
    if (!in.node.empty() && in.node != cfg.global.node) {
      if (!cfg.mesh) continue;
      for (size_t p = 0; p < cfg.mesh->peers.size() && peer < 0; ++p)
        if (cfg.mesh->peers[p].name == in.node) peer = static_cast<int>(p);
      if (peer < 0) continue;  // a node this one has no backhaul to
    }
    if (!names.insert(in.id).second) continue;  // the name is taken in this backend
    auto s = std::make_unique<config::Server>();
    s->name = in.id;
    s->addr = in.addr;
    s->weight = in.weight;
    s->maxconn = in.hard;
    s->soft = in.soft;
    s->peer = peer;
    s->node = peer >= 0 ? in.node : std::string();
    s->region = !in.region.empty() ? in.region : peer >= 0 ? cfg.mesh->peers[peer].region : cfg.global.region;
    s->catalog = true;
    const config::Server& ref = *s;
    add_server(plan, pb, registry, ref, std::move(s));
  }
}

}  // namespace

std::shared_ptr<const Plan> build_plan(std::shared_ptr<const config::Config> cfg, uint64_t generation,
                                       RuntimeRegistry& registry, TlsPlan tls,
                                       std::shared_ptr<tls::TicketKeyRing> tickets,
                                       const std::vector<Instance>* instances) {
  auto plan = std::make_shared<Plan>();
  plan->config = cfg;
  plan->generation = generation;
  plan->tickets = std::move(tickets);
  for (size_t f = 0; f < cfg->frontends.size(); ++f) {
    const auto& fe = cfg->frontends[f];
    plan->frontends.push_back(
        PlanFrontend{&fe, CidrSet(fe.trusted), std::move(tls.fronts.at(f)), registry.frontend_stats(fe.name),
                     CidrSet(fe.proxy_senders),
                     fe.rules.empty() ? nullptr : rules::compile_rules(fe.rules, limiters_of(registry, "frontend " + fe.name))});
    for (size_t i = 0; i < fe.binds.size(); ++i)
      plan->binds[listener_key(fe, i)] = Plan::BindRef{int(plan->frontends.size() - 1), int(i)};
  }
  if (cfg->mesh)
    for (const auto& p : cfg->mesh->peers) plan->peers.push_back(registry.peer(p));
  for (size_t b = 0; b < cfg->backends.size(); ++b) {
    const auto& be = cfg->backends[b];
    PlanBackend pb;
    pb.cfg = &be;
    if (b < tls.upstreams.size()) pb.tls = std::move(tls.upstreams[b]);
    for (const auto& s : be.servers) {
      add_server(*plan, pb, registry, s, nullptr);
    }
    pb.static_servers = pb.servers.size();
    if (be.catalog && instances) add_instances(*plan, pb, static_cast<int>(b), registry, *instances);
    pb.tls.resize(pb.servers.size());
    plan->backends.push_back(std::move(pb));
  }
  for (size_t i = 0; i < cfg->apps.size(); ++i) {
    const auto& app = cfg->apps[i];
    PlanApp pa{&app, app.backend, registry.budget(app.name), registry.app_stats(app.name),
               app.rules.empty() ? nullptr : rules::compile_rules(app.rules, limiters_of(registry, "app " + app.name))};
    pa.budget->set_limits(app.concurrency);
    plan->apps.push_back(std::move(pa));
    HostRouter& router = app.mode == config::Mode::tcp ? plan->sni_router : plan->router;
    for (const auto& h : app.hosts) router.add(h, static_cast<int>(i));
    if (!app.ip.empty()) plan->app_by_ip[app.ip] = static_cast<int>(i);
  }
  registry.retain_only_used();
  return plan;
}

}  // namespace ferry::proxy
