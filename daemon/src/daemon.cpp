#include "daemon.h"

#include <Poco/Message.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <fstream>
#include <iostream>
#include <sstream>

#include "api/routes.h"
#include "check.h"
#include "exit_codes.h"
#include "load_config.h"
#include "logging.h"
#include "notify.h"
#include "signals.h"

namespace ferry::daemon {

namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr milliseconds kDrainPollSlice{200};

web::AdminSecurity admin_security(const config::Config& cfg) {
  web::AdminSecurity sec;
  sec.users = cfg.global.admin_users;
  sec.hosts = cfg.global.admin_hosts;
  sec.metrics_public = cfg.global.metrics_public;
  sec.session_idle = std::chrono::duration_cast<std::chrono::seconds>(cfg.global.admin_session_timeout);
  return sec;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// What the admin listener's TLS depends on: the paths and the files' contents, so a reload
// after the certificate file was replaced restarts the listener with it. Empty without TLS.
std::string tls_fingerprint(const config::Global& g) {
  if (g.admin_tls_cert.empty()) return {};
  return g.admin_tls_cert + '\0' + g.admin_tls_key + '\0' + read_file(g.admin_tls_cert) + '\0' +
         read_file(g.admin_tls_key);
}

}  // namespace

Daemon::Daemon(std::string config_path)
    : config_path_(config_path), status_(std::make_shared<DaemonStatus>(std::move(config_path))) {}

Daemon::~Daemon() {
  if (admin_) admin_->stop();  // first: its routes borrow acme_, mesh_, history_ and engine_
  acme_.reset();  // joins the ACME thread before the engine it uses stops
  mesh_.reset();  // removes the anycast addresses and the interface Ferry added
  if (history_) history_->stop();  // its last sample reads the engine
  if (engine_ && !stopped_) engine_->stop();
}

int Daemon::start() {
  config::LoadResult result = load_config(config_path_);
  if (!result.ok()) {
    print_diagnostics(std::cerr, result);
    std::cerr << count_summary(result) << std::endl;
    logger().fatal("configuration invalid: " + count_summary(result) + ", not starting");
    return kExitConfigInvalid;
  }
  std::shared_ptr<const config::Config> cfg = result.config;

  std::string error;
  if (!apply_logging(*cfg, error)) {
    logger().fatal("start-up failed: " + error);
    return kExitStartup;
  }
  log_warnings(result);

  engine_ = std::make_unique<proxy::Engine>();
  acme_ = std::make_unique<AcmeManager>(*engine_);
  if (!acme_->load(*cfg, error)) {
    logger().fatal("start-up failed: " + error);
    acme_.reset();
    engine_->stop();
    stopped_ = true;
    return kExitStartup;
  }
  // The mesh interface and the anycast addresses are put in place before the listeners bind
  // (a bind on an anycast or mesh address needs the address); failures are logged and retried.
  mesh_ = std::make_unique<MeshManager>();
  mesh_->start(cfg);
  if (!engine_->apply(cfg, error)) {
    log_lines(Poco::Message::PRIO_ERROR, error.empty() ? "unknown error" : error,
              "start-up failed: ");
    mesh_.reset();
    engine_->stop();
    stopped_ = true;
    return kExitStartup;
  }
  config_ = cfg;
  generation_ = 1;
  status_->started(cfg, std::move(result.source_text));

  acme_->start(cfg);
  start_history(cfg);

  bool admin_started = false;
  if (!sync_admin(*cfg, /*startup=*/true, admin_started)) {
    acme_.reset();
    if (history_) history_->stop();
    mesh_.reset();
    engine_->stop();
    stopped_ = true;
    return kExitStartup;
  }

  log_new_listeners();
  if (admin_started) logger().information("admin listening address=" + admin_->bound_address());
  logger().information("ready pid=" + std::to_string(::getpid()) +
                       " workers=" + std::to_string(engine_->worker_count()) +
                       " config=" + config_path_);
  notify_ready();
  return kExitOk;
}

int Daemon::run() {
  for (;;) {
    int signo = wait_control_signal();
    logger().information(std::string("received ") + signal_name(signo));
    if (signo == SIGHUP) {
      reload();
      continue;
    }
    shutdown();
    return kExitOk;
  }
}

void Daemon::reload() {
  notify_reloading();
  try {
    config::LoadResult result = load_config(config_path_);
    if (!result.ok()) {
      log_lines(Poco::Message::PRIO_ERROR, config::format(result.diagnostics));
      logger().error("reload failed: " + std::to_string(result.error_count()) +
                     " errors, keeping the running configuration");
      status_->reload_failed(config::format(result.diagnostics));
      notify_reloaded();
      return;
    }
    std::string error;
    if (!engine_->apply(result.config, error)) {
      log_lines(Poco::Message::PRIO_ERROR, error.empty() ? "unknown error" : error,
                "reload failed: ");
      status_->reload_failed(error.empty() ? "unknown error" : error);
      notify_reloaded();
      return;
    }
    config_ = result.config;
    ++generation_;
    status_->reloaded(config_, std::move(result.source_text));
    if (acme_) acme_->update(config_);
    if (mesh_) mesh_->update(config_);
    if (history_) history_->update(config_);

    if (!apply_logging(*config_, error))
      logger().error("reload: " + error + ", keeping the previous log target");
    log_warnings(result);
    bool admin_started = false;
    sync_admin(*config_, /*startup=*/false, admin_started);
    log_new_listeners();
    if (admin_started)
      logger().information("admin listening address=" + admin_->bound_address());
    logger().information("reload ok generation=" + std::to_string(generation_));
  } catch (const std::exception& e) {
    logger().error(std::string("reload failed: ") + e.what());
    status_->reload_failed(e.what());
  }
  notify_reloaded();
}

void Daemon::shutdown() {
  if (stopped_ || !engine_) return;
  notify_stopping();
  const milliseconds timeout =
      config_ ? config_->default_timeouts.drain : milliseconds(std::chrono::seconds(30));
  logger().information("draining connections=" + std::to_string(engine_->active_connections()) +
                       " timeout=" + std::to_string(timeout.count()));
  if (acme_) acme_->request_stop();  // no new ACME step from now on
  engine_->begin_drain();
  if (admin_) admin_->set_draining(true);

  // Wait in slices so a second stop signal cuts the drain short. Zero = no timeout.
  const auto deadline = Clock::now() + timeout;
  bool drained = false;
  for (;;) {
    milliseconds slice = kDrainPollSlice;
    if (timeout.count() > 0) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) break;
      slice = std::min(slice, left);
    }
    if (engine_->wait_drained(slice)) {
      drained = true;
      break;
    }
    if (poll_stop_signal()) {
      logger().warning("second stop signal, not waiting any longer");
      break;
    }
  }
  if (drained)
    logger().information("drained");
  else
    logger().warning("drain timeout, closing " + std::to_string(engine_->active_connections()) +
                     " connections");

  if (acme_) acme_->stop();  // bounded by one HTTP timeout
  if (history_) history_->stop();  // last sample and write, while the engine's counters exist
  engine_->stop();
  stopped_ = true;
  if (mesh_) mesh_->stop();  // after the drain: connections to anycast addresses finished
  if (admin_) admin_->stop();
  logger().information("stopped");
}

void Daemon::log_new_listeners() {
  std::set<std::pair<std::string, std::string>> now;
  std::vector<std::pair<std::string, std::string>> ordered;
  for (const proxy::ListenerInfo& l : engine_->listeners()) {
    auto key = std::make_pair(l.frontend, l.address);
    ordered.push_back(key);
    if (!listeners_.count(key))
      logger().information("listening frontend=" + l.frontend + " address=" + l.address);
    now.insert(std::move(key));
  }
  listeners_ = std::move(now);
  status_->set_listeners(std::move(ordered));
}

bool Daemon::sync_admin(const config::Config& cfg, bool startup, bool& started) {
  started = false;
  const std::optional<config::Address>& want = cfg.global.admin;
  std::string tls = tls_fingerprint(cfg.global);
  if (admin_ && admin_addr_ == want && admin_tls_ == tls) {  // unchanged: keep serving
    admin_->set_security(admin_security(cfg));
    return true;
  }
  if (!want) {
    if (admin_) {
      admin_->stop();
      admin_.reset();
      admin_addr_.reset();
      admin_tls_.clear();
      logger().information("admin listener closed");
    }
    return true;
  }
  // A moved listener may reuse the same port on another address: stop the old one first
  // only when it could conflict (same port), otherwise start the new one first.
  bool same_port = admin_addr_ && admin_addr_->port == want->port && want->port != 0;
  std::unique_ptr<web::AdminServer> old = std::move(admin_);
  if (old && same_port) old->stop();
  auto fresh = std::make_unique<web::AdminServer>();
  register_api_routes(*fresh, ApiContext{engine_.get(), acme_.get(), mesh_.get(), status_, history_.get()});
  fresh->set_log([](int priority, const std::string& line) {
    logger().log(Poco::Message("ferry", line, static_cast<Poco::Message::Priority>(priority)));
  });
  fresh->set_tls(cfg.global.admin_tls_cert, cfg.global.admin_tls_key);
  fresh->set_security(admin_security(cfg));
  std::string error;
  if (!fresh->start(*want, error)) {
    if (startup) {
      logger().fatal("start-up failed: " + error);
      return false;
    }
    logger().error("reload: " + error + ", keeping the previous admin listener");
    if (old && !old->running() && admin_addr_) {
      std::string again;
      if (!old->start(*admin_addr_, again)) {  // old keeps its own TLS settings
        logger().error("reload: restarting the previous admin listener: " + again);
        admin_addr_.reset();
        return false;
      }
    }
    admin_ = std::move(old);
    if (admin_) admin_->set_security(admin_security(cfg));  // users and hosts still apply
    return false;
  }
  if (old) old->stop();
  admin_ = std::move(fresh);
  admin_addr_ = want;
  admin_tls_ = std::move(tls);
  started = true;
  return true;
}

void Daemon::start_history(const std::shared_ptr<const config::Config>& cfg) {
  auto history = std::make_unique<History>(*engine_);
  std::string error;
  if (!history->start(cfg, error)) {
    logger().error(error + "; running without history");
    return;
  }
  history_ = std::move(history);
}

void Daemon::log_warnings(const config::LoadResult& result) {
  for (const config::Diagnostic& d : result.diagnostics)
    log_lines(Poco::Message::PRIO_WARNING, config::format(d));
}

bool Daemon::apply_logging(const config::Config& cfg, std::string& error) {
  if (!configure_logging(cfg.global.log_target, cfg.global.log_level, error)) return false;
  install_proxy_sink(cfg.global.log_level);  // safe while workers run; updates the level
  return true;
}

}  // namespace ferry::daemon
