// Engine: owns the workers, listening sockets, runtime registry, health checker and access
// log writer; prepares each new Config (plan/prepared), then turns it into a Plan and
// publishes it. Control thread only.
#include "ferry/proxy/engine.h"

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "auth/verifier.h"
#include "health/checker.h"
#include "log/log.h"
#include "net/listen_socket.h"
#include "observe/access_log.h"
#include "plan/plan.h"
#include "plan/prepared.h"
#include "plan/tls_plan.h"
#include "stats/collect.h"
#include "tls/certificate.h"
#include "worker.h"

namespace ferry::proxy {

struct Engine::Impl {
  EngineShared shared;
  AccessLogWriter access_log;
  auth::CredentialVerifier verifier;  // basic-auth KDFs; stopped before the workers
  std::vector<std::unique_ptr<Worker>> workers;
  RuntimeRegistry registry;
  std::unique_ptr<HealthChecker> health;
  struct Listener {
    std::string frontend;
    std::string bound;
  };
  std::map<std::string, Listener> listeners;  // listener key -> info (sockets live in workers)
  std::vector<ListenerInfo> ordered;          // config order, for listeners()
  std::shared_ptr<const PreparedConfig> live;   // the configuration in force (its TLS contexts)
  std::shared_ptr<tls::TicketKeyRing> tickets;  // created by the first prepare; kept across reloads
  DynamicTls dynamic;  // ACME certificates and challenges; kept across reloads
  // The catalog's instances (set_instances), kept across reloads, and the TLS plan of the
  // newest plan, which an instance change reuses (it touches no context).
  std::shared_ptr<const std::vector<Instance>> instances;
  TlsPlan last_tls;
  std::shared_ptr<const CatalogFeed> feed;  // what the workers serve; kept for new workers
  // Serialises apply() (main thread) with set_dynamic_certificates() / set_acme_challenges()
  // (ACME thread) and the admin drain calls (admin threads), which use the registry too.
  // Never taken by workers.
  std::mutex control;
  // The newest plan, for mesh_peers() and stats() (admin threads). Guarded by peers_mu.
  mutable std::mutex peers_mu;
  std::shared_ptr<const Plan> newest;
  void remember(const std::shared_ptr<const Plan>& p) {
    std::lock_guard lock(peers_mu);
    newest = p;
  }

  // Publishes a plan for the current config with the current dynamic certificates and no
  // listener changes. False with `error` when the TLS plan cannot be built.
  bool republish(std::string& error);
  // Builds the live config's plan with `tls` and the current instances, remembers it and
  // installs it on every worker, without listener changes. Under `control`.
  std::shared_ptr<const Plan> publish(const TlsPlan& tls);
  uint64_t generation = 0;
  bool started = false, draining = false, stopped = false;
  std::atomic<int> nworkers{0};  // fixed by the first apply(); for stats() (any thread)
  std::shared_ptr<const Plan> newest_plan() const {
    std::lock_guard lock(peers_mu);
    return newest;
  }
};

Engine::Engine() : impl_(std::make_unique<Impl>()) {
  impl_->shared.access_log = &impl_->access_log;
  impl_->shared.verifier = &impl_->verifier;
  impl_->dynamic.challenges = std::make_shared<tls::AcmeChallenges>();
}

Engine::~Engine() { stop(); }

static std::vector<CheckTarget> health_targets(const Plan& plan) {
  std::vector<CheckTarget> targets;
  for (const auto& be : plan.backends) {
    if (be.cfg->health.kind == config::HealthCheck::Kind::none) continue;
    for (size_t i = 0; i < be.servers.size(); ++i) {
      const auto& s = *be.servers[i].cfg;
      // A remote instance is checked by its hosting node, whose load reports carry the result.
      if (s.disabled || be.servers[i].peer) continue;
      targets.push_back(CheckTarget{be.cfg->name, s.name, s.addr, be.cfg->health, s.send_proxy, be.states[i]});
    }
  }
  return targets;
}

Prepared Engine::prepare(std::shared_ptr<const config::Config> cfg) {
  Impl& m = *impl_;
  std::shared_ptr<tls::TicketKeyRing> tickets;
  {
    std::lock_guard lock(m.control);
    if (!m.tickets) m.tickets = tls::TicketKeyRing::create();
    tickets = m.tickets;
  }
  if (!tickets) {
    Prepared failed;
    config::Diagnostic d;
    d.file = cfg->files.empty() ? std::string() : cfg->files.front();
    d.message = "cannot create TLS session ticket keys (random generator failed)";
    failed.diagnostics.push_back(std::move(d));
    return failed;
  }
  return proxy::prepare(std::move(cfg), std::move(tickets), PrepareOptions::OutputFiles::open);
}

bool Engine::apply(std::shared_ptr<const config::Config> cfg, std::string& error) {
  Prepared p = prepare(std::move(cfg));
  if (p.ready) return apply(p.ready, error);
  error.clear();
  for (const auto& d : p.diagnostics) {
    if (d.severity != config::Diagnostic::Severity::error) continue;
    if (!error.empty()) error += '\n';
    error += d.file + ":" + std::to_string(d.line) + ":" + std::to_string(d.col) + ": " + d.message;
  }
  return false;
}

bool Engine::apply(std::shared_ptr<const PreparedConfig> prepared, std::string& error) {
  Impl& m = *impl_;
  std::lock_guard lock(m.control);
  if (m.stopped || m.draining) {
    error = "the engine is shutting down";
    return false;
  }
  if (!prepared || prepared->tickets != m.tickets) {
    error = "the configuration was not prepared by this engine";
    return false;
  }
  const std::shared_ptr<const config::Config> cfg = prepared->config;
  if (!m.started) {
    int n = cfg->global.workers > 0 ? cfg->global.workers : int(std::max(1u, std::thread::hardware_concurrency()));
    m.shared.worker_connections = std::make_unique<std::atomic<uint32_t>[]>(static_cast<size_t>(n));
    m.shared.nworkers = n;
    m.shared.hand_off = [&m](int to, int fd, const PeerInfo& peer, const std::string& key) {
      m.workers[static_cast<size_t>(to)]->post_serve(fd, peer, key);
    };
    for (int i = 0; i < n; ++i) m.workers.push_back(std::make_unique<Worker>(i, m.shared));
    m.registry.set_workers(n);  // one counter slot per worker
    m.nworkers.store(n, std::memory_order_relaxed);
  }
  const int nworkers = static_cast<int>(m.workers.size());

  // 1. Listening sockets for binds that are new in this configuration.
  std::map<std::string, std::pair<const config::Frontend*, size_t>> wanted;
  for (const auto& fe : cfg->frontends)
    for (size_t i = 0; i < fe.binds.size(); ++i) wanted[listener_key(fe, i)] = {&fe, i};
  std::map<std::string, ListenSockets> opened;
  std::string errors;
  // Fixed ports first, then port-0 binds: the kernel picks a port-0 bind's port among those not
  // in use, and a fixed bind opened after it on that same number would join it (SO_REUSEPORT),
  // two frontends sharing one port.
  for (const bool any_port : {false, true})
    for (const auto& [key, ref] : wanted) {
      const auto& bind = ref.first->binds[ref.second];
      if ((bind.addr.port == 0) != any_port || m.listeners.count(key)) continue;
      ListenSockets ls;
      std::string err;
      if (!open_listen_sockets(bind.addr, nworkers, ls, err)) {
        errors += err + " (frontend " + ref.first->name + ", " + bind.loc.file + ":" + std::to_string(bind.loc.line) +
                  ":" + std::to_string(bind.loc.col) + ")\n";
        continue;
      }
      opened[key] = std::move(ls);
    }
  TlsPlan tls_plan;
  std::string tls_err;
  if (!build_tls_plan(*prepared, m.dynamic, tls_plan, tls_err)) errors += tls_err + "\n";
  if (!errors.empty()) {
    for (auto& [k, ls] : opened) close_listen_sockets(ls);
    if (errors.back() == '\n') errors.pop_back();
    error = errors;
    return false;
  }

  // 2. The access log (opened by prepare), the plan; publish it with the listener changes to
  // every worker.
  m.access_log.configure(prepared->access_log, cfg->global.access_log_format);
  m.last_tls = tls_plan;
  auto plan = build_plan(cfg, ++m.generation, m.registry, std::move(tls_plan), m.tickets, m.instances.get());
  m.remember(plan);
  std::vector<std::string> removed;
  for (const auto& [key, l] : m.listeners)
    if (!wanted.count(key)) removed.push_back(key);
  if (!m.started)
    for (auto& w : m.workers) w->post_catalog_feed(m.feed);  // set before the workers existed
  for (int w = 0; w < nworkers; ++w) {
    std::vector<std::pair<std::string, int>> add;
    for (auto& [key, ls] : opened) add.emplace_back(key, ls.fds[w]);
    m.workers[w]->install(plan, std::move(add), removed);
  }
  for (const auto& key : removed) {
    log(config::LogLevel::info, "closing listener " + m.listeners[key].bound + " (frontend " + m.listeners[key].frontend + ")");
    m.listeners.erase(key);
  }
  for (auto& [key, ls] : opened) m.listeners[key] = Impl::Listener{wanted[key].first->name, ls.bound};
  m.ordered.clear();
  for (const auto& fe : cfg->frontends)
    for (size_t i = 0; i < fe.binds.size(); ++i) {
      auto& l = m.listeners[listener_key(fe, i)];
      l.frontend = fe.name;
      m.ordered.push_back(ListenerInfo{fe.name, l.bound});
    }
  m.shared.max_connections.store(cfg->global.max_connections, std::memory_order_relaxed);
  if (cfg->tracing) m.shared.spans.set_capacity(cfg->tracing->queue);

  if (!m.health) m.health = std::make_unique<HealthChecker>();
  m.health->update(health_targets(*plan));
  m.live = std::move(prepared);
  if (!m.started) {
    for (auto& w : m.workers) w->start();
    m.started = true;
  }
  return true;
}

bool Engine::Impl::republish(std::string& error) {
  if (!live || !started || stopped || draining) return true;  // the next apply() uses `dynamic`
  TlsPlan tls_plan;
  if (!build_tls_plan(*live, dynamic, tls_plan, error)) return false;  // reads no file
  last_tls = tls_plan;
  publish(last_tls);
  return true;
}

std::shared_ptr<const Plan> Engine::Impl::publish(const TlsPlan& tls) {
  auto plan = build_plan(live->config, ++generation, registry, tls, tickets, instances.get());
  remember(plan);
  for (auto& w : workers) w->install(plan, {}, {});
  return plan;
}

void Engine::set_instances(std::vector<Instance> instances) {
  Impl& m = *impl_;
  std::lock_guard lock(m.control);
  m.instances = std::make_shared<const std::vector<Instance>>(std::move(instances));
  if (!m.live || !m.started || m.stopped || m.draining) return;  // the next apply() uses them
  auto plan = m.publish(m.last_tls);
  m.health->update(health_targets(*plan));
}

void Engine::set_catalog_feed(std::shared_ptr<const CatalogFeed> feed) {
  Impl& m = *impl_;
  std::lock_guard lock(m.control);
  m.feed = feed;
  for (auto& w : m.workers) w->post_catalog_feed(feed);
}

void Engine::set_catalog_sink(CatalogSink sink) { impl_->shared.catalog_sink = std::move(sink); }

void Engine::set_catalog_acks(CatalogAck ack, CatalogApplied applied) {
  impl_->shared.catalog_ack = std::move(ack);
  impl_->shared.catalog_applied = std::move(applied);
}

void Engine::set_autostart(AutostartHook hook) { impl_->shared.autostart = std::move(hook); }

bool Engine::set_dynamic_certificates(std::vector<AppCertificate> certs, std::string& error) {
  Impl& m = *impl_;
  std::lock_guard lock(m.control);
  std::map<std::string, AppCertificate> next;
  for (auto& c : certs) {
    auto loaded = tls::load_certificate_pem(c.chain_pem + c.key_pem, "ACME certificate of app " + c.app);
    if (!loaded.ok()) {
      error = loaded.errors.empty() ? "ACME certificate of app " + c.app + ": cannot load" : loaded.errors.front();
      return false;
    }
    std::string name = c.app;
    next[name] = std::move(c);
  }
  auto previous = std::move(m.dynamic.certificates);
  m.dynamic.certificates = std::move(next);
  if (!m.republish(error)) {
    m.dynamic.certificates = std::move(previous);
    return false;
  }
  return true;
}

bool Engine::set_acme_challenges(const std::vector<AcmeChallengeCertificate>& challenges, std::string& error) {
  Impl& m = *impl_;
  std::lock_guard lock(m.control);
  if (!m.tickets) m.tickets = tls::TicketKeyRing::create();
  tls::AcmeChallenges::Map map;
  for (const auto& c : challenges) {
    auto ctx = make_acme_challenge_ctx(c.cert_pem, c.key_pem, m.tickets, error);
    if (!ctx) {
      error = c.identifier + ": " + error;
      return false;
    }
    map[c.identifier] = std::move(ctx);
  }
  m.dynamic.challenges->replace(std::move(map));
  return true;
}

bool Engine::set_acme_http_tokens(std::map<std::string, std::string> tokens, std::string& error) {
  acme::AcmeHttpTokens::Map map;
  for (auto& [token, key_authz] : tokens) {
    if (!acme::is_valid_acme_token(token)) {
      error = "ACME http-01 token '" + token.substr(0, 64) + "' is not base64url";
      return false;
    }
    if (key_authz.size() <= token.size() + 1 || key_authz.compare(0, token.size(), token) != 0 ||
        key_authz[token.size()] != '.') {
      error = "ACME http-01 token '" + token + "': the key authorization does not start with '<token>.'";
      return false;
    }
    map.emplace(token, std::move(key_authz));
  }
  impl_->shared.acme_http.replace(std::move(map));  // its own lock; no plan change needed
  return true;
}

std::vector<ListenerInfo> Engine::listeners() const { return impl_->ordered; }

std::vector<MeshPeerInfo> Engine::mesh_peers() const {
  std::shared_ptr<const Plan> plan = impl_->newest_plan();
  std::vector<MeshPeerInfo> out;
  if (!plan || !plan->config->mesh) return out;
  const int64_t now = now_ms();
  const auto& peers = plan->config->mesh->peers;
  for (size_t i = 0; i < peers.size() && i < plan->peers.size(); ++i) {
    const PeerState& st = *plan->peers[i];
    MeshPeerInfo p;
    p.name = peers[i].name;
    p.region = peers[i].region;
    p.backhaul = peers[i].backhaul.to_string();
    p.rtt_us = st.rtt_us.load(std::memory_order_relaxed);
    p.rtt_fixed = peers[i].latency.count() > 0;
    p.reachable = st.reachable.load(std::memory_order_relaxed);
    const int64_t answer = st.last_answer_ms.load(std::memory_order_relaxed);
    const int64_t report = st.last_report_ms.load(std::memory_order_relaxed);
    p.last_answer_age_ms = answer ? now - answer : -1;
    p.last_report_age_ms = report ? now - report : -1;
    p.pings = st.pings.load(std::memory_order_relaxed);
    p.ping_failures = st.ping_failures.load(std::memory_order_relaxed);
    out.push_back(std::move(p));
  }
  return out;
}

void Engine::begin_drain() {
  std::lock_guard lock(impl_->control);
  if (impl_->draining || !impl_->started) return;
  impl_->draining = true;
  for (auto& w : impl_->workers) w->begin_drain();
}

bool Engine::wait_drained(std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (impl_->shared.connections.load() > 0) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

void Engine::stop() {
  Impl& m = *impl_;
  std::lock_guard lock(m.control);
  if (m.stopped) return;
  m.stopped = true;
  if (m.health) m.health->stop();
  m.verifier.stop();  // its last verdicts are posted while the workers' loops exist
  for (auto& w : m.workers) w->stop();
  m.workers.clear();
}

size_t Engine::take_spans(std::string& out) { return impl_->shared.spans.take(out); }

std::vector<SlowRequest> Engine::slow_requests(const std::string& app, size_t max) const {
  return impl_->shared.slow.snapshot(app, max);
}

size_t Engine::active_connections() const { return impl_->shared.connections.load(); }

EngineStats Engine::stats() const {
  EngineStats out;
  out.workers = impl_->nworkers.load(std::memory_order_relaxed);
  out.connections_active = impl_->shared.connections.load(std::memory_order_relaxed);
  if (impl_->shared.worker_connections)
    for (int i = 0; i < impl_->shared.nworkers; ++i)
      out.worker_connections.push_back(impl_->shared.worker_connections[i].load(std::memory_order_relaxed));
  out.worker_handoffs = impl_->shared.handoffs.load(std::memory_order_relaxed);
  out.auth_verifications = impl_->verifier.verifications();
  out.auth_refused = impl_->verifier.refused();
  out.trace_spans_dropped = impl_->shared.spans.dropped();
  std::shared_ptr<const Plan> plan = impl_->newest_plan();
  if (!plan) return out;
  out.generation = plan->generation;
  collect_stats(*plan, now_ms(), out);
  return out;
}

bool Engine::set_server_drained(const std::string& backend, const std::string& server, bool drained) {
  Impl& m = *impl_;
  std::lock_guard lock(m.control);  // the registry is the control thread's (apply holds this)
  std::shared_ptr<const Plan> plan = m.newest_plan();
  if (!plan) return false;
  const PlanBackend* found = nullptr;
  for (const auto& be : plan->backends)
    if (be.cfg->name == backend) found = &be;
  if (!found) return false;
  bool known = false;
  for (size_t i = 0; i < found->servers.size(); ++i) {
    if (found->servers[i].cfg->name != server) continue;
    known = true;
    found->servers[i].state->drained.store(drained, std::memory_order_relaxed);  // in force at once
  }
  if (!known) return false;
  if (drained) m.registry.drained().insert({backend, server});
  else m.registry.drained().erase({backend, server});
  return true;
}

std::vector<std::pair<std::string, std::string>> Engine::drained_servers() const {
  std::lock_guard lock(impl_->control);
  const auto& d = impl_->registry.drained();
  return {d.begin(), d.end()};  // a std::set: sorted
}

int Engine::worker_count() const { return static_cast<int>(impl_->workers.size()); }

}  // namespace ferry::proxy
