#include "catalog/autoscale.h"

#include <chrono>
#include <set>

#include "catalog/catalog.h"
#include "catalog/clock.h"
#include "services/logging.h"

namespace ferry::daemon::catalog {

namespace {

int64_t ms_of(config::Duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

constexpr int64_t kRetryAfterFailureMs = 1000;  // a failed start call: the next request may call again after
constexpr auto kTick = std::chrono::seconds(1);  // idle checks

const config::App* find_app(const config::Config& cfg, const std::string& name) {
  auto it = cfg.app_index.find(name);
  return it == cfg.app_index.end() ? nullptr : &cfg.apps[it->second];
}

}  // namespace

Autoscaler::Autoscaler(proxy::Engine& engine, Catalog& catalog) : engine_(engine), catalog_(catalog) {}

Autoscaler::~Autoscaler() { stop(); }

void Autoscaler::configure(std::shared_ptr<const config::Config> cfg) {
  std::lock_guard lock(mu_);
  std::map<std::string, AppState> next;
  for (const config::App& a : cfg->apps) {
    if (!a.autostart()) continue;
    auto it = apps_.find(a.name);
    next[a.name] = it != apps_.end() ? it->second : AppState{};  // a reload keeps counts and pending starts
  }
  apps_ = std::move(next);
  cfg_ = std::move(cfg);
  if (!thread_.joinable() && !stop_) thread_ = std::thread([this] { run(); });
}

void Autoscaler::stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cancel_ = true;
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Autoscaler::request_start(const std::string& app) {
  std::lock_guard lock(mu_);
  auto it = apps_.find(app);
  if (stop_ || it == apps_.end()) return;
  AppState& s = it->second;
  if (s.calling || steady_ms() < s.quiet_until_ms) return;  // a start is pending: wait for it
  s.calling = true;
  queue_.push_back(app);
  cv_.notify_all();
}

std::vector<AutoscaleView> Autoscaler::view() const {
  std::lock_guard lock(mu_);
  std::vector<AutoscaleView> out;
  if (!cfg_) return out;
  const int64_t now = steady_ms();
  for (const config::App& a : cfg_->apps) {
    auto it = apps_.find(a.name);
    if (it == apps_.end()) continue;
    const AppState& s = it->second;
    out.push_back(AutoscaleView{a.name, s.calling, s.calling || now < s.quiet_until_ms, s.last_start_unix_ms,
                                s.last_error, s.start_calls, s.start_ok, s.start_failures, s.stop_calls, s.stop_ok,
                                s.stop_failures});
  }
  return out;
}

HookCall Autoscaler::hook_for(const config::App& app, const std::string& action) const {
  HookCall call;
  call.url = app.autostart_url;
  call.command = app.autostart_command;
  call.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(app.autostart_timeout);
  call.fields = {{"action", action}, {"app", app.name}, {"node", catalog_.node()}};
  if (cfg_ && !cfg_->global.region.empty()) call.fields.emplace_back("region", cfg_->global.region);
  return call;
}

void Autoscaler::launch(HookCall call, std::function<void(const std::string& error)> done) {
  auto flag = std::make_shared<std::atomic<bool>>(false);
  std::thread t([this, call = std::move(call), done = std::move(done), flag] {
    done(run_hook(call, &cancel_));
    flag->store(true);
  });
  calls_.push_back(Call{std::move(t), std::move(flag)});
}

// Thread; mu_ held by the caller (run), released around nothing: only builds and launches.
void Autoscaler::start_call(const std::string& app, const config::App& cfg) {
  AppState& s = apps_[app];
  ++s.start_calls;
  s.last_start_unix_ms = unix_ms();
  const int64_t wait_ms = ms_of(cfg.autostart_timeout);
  logger().information("autostart: app " + app + " has no started instance; calling its hook");
  launch(hook_for(cfg, "start"), [this, app, wait_ms](const std::string& error) {
    std::lock_guard lock(mu_);
    auto it = apps_.find(app);
    if (it == apps_.end()) return;  // removed by a reload meanwhile
    AppState& st = it->second;
    st.calling = false;
    if (error.empty()) {
      ++st.start_ok;
      st.quiet_until_ms = steady_ms() + wait_ms;  // the held requests wait for the instance
      return;
    }
    ++st.start_failures;
    st.last_error = "start: " + error;
    st.quiet_until_ms = steady_ms() + kRetryAfterFailureMs;
    logger().error("autostart: app " + app + ": the start hook failed: " + error);
  });
}

void Autoscaler::stop_instance(const std::string& app, const std::string& id, const std::string& address,
                               const config::App& cfg) {
  Record out;
  std::string error;
  if (catalog_.set_state(app, id, proxy::InstanceState::stopping, out, error) != Catalog::Result::ok) {
    logger().error("autostop: " + app + "/" + id + ": cannot set it stopping: " + error);
    return;
  }
  logger().information("admin action user=autostop action=instance-stop app=" + app + " id=" + id +
                       " reason=idle for " + std::to_string(ms_of(cfg.autostop_idle) / 1000) + "s");
  HookCall call;
  {
    std::lock_guard lock(mu_);
    ++apps_[app].stop_calls;
    call = hook_for(cfg, "stop");
  }
  call.fields.emplace_back("instance", id);
  call.fields.emplace_back("address", address);
  launch(std::move(call), [this, app, id](const std::string& error) {
    Record rec;
    std::string why;
    if (error.empty()) {
      catalog_.set_state(app, id, proxy::InstanceState::stopped, rec, why);  // not_found: the hook removed it
    } else {
      logger().error("autostop: " + app + "/" + id + ": the stop hook failed (" + error + "); it is started again");
      catalog_.set_state(app, id, proxy::InstanceState::started, rec, why);
    }
    std::lock_guard lock(mu_);
    auto it = apps_.find(app);
    if (it == apps_.end()) return;
    if (error.empty()) {
      ++it->second.stop_ok;
      return;
    }
    ++it->second.stop_failures;
    it->second.last_error = "stop " + id + ": " + error;
  });
}

// Thread, without mu_: reads the engine's counters and the catalog.
void Autoscaler::check_idle(const config::Config& cfg, std::map<std::string, int> started) {
  std::map<std::string, const config::App*> apps;  // with autostop
  for (const config::App& a : cfg.apps)
    if (a.autostart() && a.autostop_idle.count() > 0 && a.backend >= 0) apps[a.name] = &a;
  if (apps.empty()) {
    idle_.clear();
    return;
  }
  const proxy::EngineStats stats = engine_.stats();
  std::map<std::pair<std::string, std::string>, const proxy::ServerStats*> servers;  // (backend, name)
  for (const auto& s : stats.servers)
    if (s.catalog && s.node.empty()) servers[{s.backend, s.name}] = &s;
  const int64_t now = steady_ms();
  std::set<std::pair<std::string, std::string>> seen;
  for (const Record& r : catalog_.local_records()) {
    auto app = apps.find(r.inst.app);
    if (app == apps.end() || r.inst.state != proxy::InstanceState::started) continue;
    const config::App& cfg_app = *app->second;
    const auto key = std::make_pair(r.inst.app, r.inst.id);
    seen.insert(key);
    auto [it, fresh] = idle_.try_emplace(key, Idle{0, now});
    Idle& idle = it->second;
    auto srv = servers.find({cfg.backends[cfg_app.backend].name, r.inst.id});
    if (srv == servers.end()) {  // not routed here yet: not idle
      idle.since_ms = now;
      continue;
    }
    const proxy::ServerStats& s = *srv->second;
    if (fresh || s.inflight > 0 || s.responses != idle.responses) {
      idle.responses = s.responses;
      idle.since_ms = now;
      continue;
    }
    if (now - idle.since_ms < ms_of(cfg_app.autostop_idle)) continue;
    int& left = started[r.inst.app];
    if (left <= cfg_app.autostop_keep) continue;
    --left;
    idle_.erase(it);
    seen.erase(key);
    stop_instance(r.inst.app, r.inst.id, r.inst.addr.to_string(), cfg_app);
  }
  for (auto it = idle_.begin(); it != idle_.end();) it = seen.contains(it->first) ? std::next(it) : idle_.erase(it);
}

void Autoscaler::run() {
  std::unique_lock lock(mu_);
  auto next_tick = std::chrono::steady_clock::now();
  while (!stop_) {
    cv_.wait_until(lock, next_tick, [this] { return stop_ || !queue_.empty(); });
    if (stop_) break;
    std::shared_ptr<const config::Config> cfg = cfg_;
    while (!queue_.empty()) {
      const std::string app = std::move(queue_.front());
      queue_.pop_front();
      const config::App* a = find_app(*cfg, app);
      if (a && a->autostart()) start_call(app, *a);
      else if (auto it = apps_.find(app); it != apps_.end()) it->second.calling = false;
    }
    if (std::chrono::steady_clock::now() < next_tick) continue;
    next_tick = std::chrono::steady_clock::now() + kTick;
    lock.unlock();
    // Finished calls are joined; an app that has a started instance now has no pending start.
    for (auto it = calls_.begin(); it != calls_.end();) {
      if (!it->done->load()) {
        ++it;
        continue;
      }
      it->thread.join();
      it = calls_.erase(it);
    }
    const std::map<std::string, int> started = catalog_.started_by_app();
    check_idle(*cfg, started);
    lock.lock();
    for (auto& [app, s] : apps_)
      if (!s.calling && started.contains(app) && started.at(app) > 0) s.quiet_until_ms = 0;
  }
  lock.unlock();
  for (Call& c : calls_) c.thread.join();  // cancel_ is set: commands are killed, webhooks end at their timeout
  calls_.clear();
}

}  // namespace ferry::daemon::catalog
