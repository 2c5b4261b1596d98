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
#include "notify.h"
#include "services/check.h"
#include "services/exit_codes.h"
#include "services/load_config.h"
#include "services/logging.h"
#include "signals.h"

namespace ferry::daemon {

namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr milliseconds kDrainPollSlice{200};
// How long start-up and a reload wait for the mesh manager to apply a configuration before the
// engine binds: more than a userspace WireGuard program's 10 s to answer on its socket.
constexpr milliseconds kMeshApplyBound{15000};

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

Daemon::~Daemon() { lifecycle_.stop(); }  // what is still started, in reverse order

std::vector<lifecycle::Step> Daemon::steps() {
  // Start-up and reload walk them in this order, shutdown in reverse (lifecycle.h).
  return {logging_step(), certificates_step(), mesh_step(), catalog_step(), engine_step(), tracing_step(), acme_step(),
          history_step(), admin_step()};
}

// Logging first: every later step logs to the configured target. A reload that cannot open the
// new target keeps the previous one; a failed reload puts the previous target back.
lifecycle::Step Daemon::logging_step() {
  using lifecycle::Snapshot;
  return {"logging",
          [this](const Snapshot& cfg, std::string& error) {
            if (!apply_logging(*cfg, error)) {
              logger().fatal("start-up failed: " + error);
              return false;
            }
            log_warnings();
            return true;
          },
          [this](const Snapshot& next, std::string&) {
            std::string error;
            if (!apply_logging(*next, error)) logger().error("reload: " + error + ", keeping the previous log target");
            log_warnings();
            return true;
          },
          [this](const Snapshot& old) {
            std::string error;
            if (!apply_logging(*old, error)) logger().error("reload: restoring the log target: " + error);
          },
          {}, {}};
}

// The stored ACME certificates, before the engine's first plan (no handshake is refused after a
// restart; a bad state-dir fails start-up before anything binds). At a reload the ACME thread
// opens the store itself when an acme section was added.
lifecycle::Step Daemon::certificates_step() {
  using lifecycle::Snapshot;
  return {"certificates",
          [this](const Snapshot& cfg, std::string& error) {
            acme_ = std::make_unique<AcmeManager>(*engine_);
            if (acme_->load(*cfg, error)) return true;
            logger().fatal("start-up failed: " + error);
            return false;
          },
          {}, {}, {}, {}};
}

// The mesh interface and the anycast addresses, in place before the listeners bind (a bind on
// an anycast or mesh address needs the address): apply() waits for the manager's thread, at most
// kMeshApplyBound. Failures are logged and retried by that thread; they never fail start-up or a
// reload. A failed reload applies the running configuration again (addresses added for the
// failed one are removed). Removed after the drain at shutdown (connections to anycast
// addresses finished).
lifecycle::Step Daemon::mesh_step() {
  using lifecycle::Snapshot;
  auto apply = [this](const Snapshot& cfg, const char* when) {
    if (!mesh_->apply(cfg, kMeshApplyBound))
      logger().warning(std::string(when) + ": the mesh is not applied after " +
                       std::to_string(kMeshApplyBound.count() / 1000) + " s, going on (its thread keeps at it)");
  };
  return {"mesh",
          [this, apply](const Snapshot& cfg, std::string&) {
            mesh_ = std::make_unique<MeshManager>();
            apply(cfg, "start-up");
            return true;
          },
          [apply](const Snapshot& next, std::string&) {
            apply(next, "reload");
            return true;
          },
          [apply](const Snapshot& old) { apply(old, "reload failed, restoring"); },
          {}, [this] { mesh_->stop(); }};
}

// The live instance catalog (catalog/catalog.h), before the engine: the engine's first plan
// already routes to this node's stored instances, and worker 0 finds the catalog's sink. A store
// that does not open is logged and the daemon runs without a catalog (the API says so).
lifecycle::Step Daemon::catalog_step() {
  using lifecycle::Snapshot;
  return {"catalog",
          [this](const Snapshot& cfg, std::string&) {
            std::string error;
            if (!catalog_->start(cfg, error)) logger().error(error + " (running without a live catalog)");
            return true;
          },
          [this](const Snapshot& next, std::string&) {
            if (const std::string error = catalog_->configure(next); !error.empty())
              logger().error("reload: " + error + " (running without this node's catalog instances)");
            return true;
          },
          {}, {}, [this] { catalog_->stop(); }};
}

// The data plane: installs what load_config prepared for the snapshot (prepared_: certificates,
// contexts and the access log were read and checked then), binding new listeners. A failed
// apply changes nothing (the running configuration keeps serving); at a reload the Daemon logs
// the failure after the steps before were reverted.
lifecycle::Step Daemon::engine_step() {
  using lifecycle::Snapshot;
  return {"engine",
          [this](const Snapshot&, std::string& error) {
            if (engine_->apply(prepared_, error)) return true;
            log_lines(Poco::Message::PRIO_ERROR, error.empty() ? "unknown error" : error, "start-up failed: ");
            return false;
          },
          [this](const Snapshot&, std::string& error) { return engine_->apply(prepared_, error); },
          {}, [this] { engine_->begin_drain(); }, [this] { engine_->stop(); }};
}

// The span exporter (tracing/exporter.h), right after the engine whose spans it drains; idle
// without a `tracing` section. Its stop sends what the workers handed over before it.
lifecycle::Step Daemon::tracing_step() {
  using lifecycle::Snapshot;
  return {"tracing",
          [this](const Snapshot& cfg, std::string&) {
            tracing_->start(cfg);
            return true;
          },
          [this](const Snapshot& next, std::string&) {
            tracing_->update(next);
            return true;
          },
          {}, {}, [this] { tracing_->stop(); }};
}

// The ACME thread, once the listeners can answer challenges. Quiesce: no new ACME step; stop
// joins it (bounded by one HTTP timeout) before the engine it uses stops.
lifecycle::Step Daemon::acme_step() {
  using lifecycle::Snapshot;
  return {"acme",
          [this](const Snapshot& cfg, std::string&) {
            acme_->start(cfg);
            return true;
          },
          [this](const Snapshot& next, std::string&) {
            acme_->update(next);
            return true;
          },
          {}, [this] { acme_->request_stop(); }, [this] { acme_->stop(); }};
}

// The history sampler (a store failure: logged, no history). Stopped before the engine: its last
// sample reads the engine's counters.
lifecycle::Step Daemon::history_step() {
  using lifecycle::Snapshot;
  return {"history",
          [this](const Snapshot& cfg, std::string&) {
            start_history(cfg);
            return true;
          },
          [this](const Snapshot& next, std::string&) {
            if (history_) history_->update(next);
            return true;
          },
          {}, {}, [this] {
            if (history_) history_->stop();
          }};
}

// The admin listener last: its routes borrow everything above. At start-up a failure is fatal;
// at a reload it is logged and the previous listener keeps serving (never a reload failure: the
// engine serves the new configuration already). It says `draining` during the drain and stops
// first.
lifecycle::Step Daemon::admin_step() {
  using lifecycle::Snapshot;
  return {"admin",
          [this](const Snapshot& cfg, std::string& error) {
            if (sync_admin(*cfg, /*startup=*/true, admin_started_)) return true;
            error = "admin listener";
            return false;
          },
          [this](const Snapshot& next, std::string&) {
            try {
              sync_admin(*next, /*startup=*/false, admin_started_);
            } catch (const std::exception& e) {
              logger().error(std::string("reload: admin listener: ") + e.what());
            }
            return true;
          },
          {},
          [this] {
            if (admin_) admin_->set_draining(true);
          },
          [this] {
            if (admin_) admin_->stop();
          }};
}

int Daemon::start() {
  engine_ = std::make_unique<proxy::Engine>();
  tracing_ = std::make_unique<TraceExporter>(*engine_);
  catalog_ = std::make_unique<catalog::Catalog>(*engine_);
  LoadedConfig result = load_config(config_path_, *engine_);
  if (!result.ok()) {
    print_diagnostics(std::cerr, result);
    std::cerr << count_summary(result) << std::endl;
    logger().fatal("configuration invalid: " + count_summary(result) + ", not starting");
    return kExitConfigInvalid;
  }
  std::shared_ptr<const config::Config> cfg = result.config;
  warnings_ = result.diagnostics;
  lifecycle_ = lifecycle::Lifecycle(steps());
  lifecycle::Failure failed;
  prepared_ = std::move(result.prepared);
  const bool started = lifecycle_.start(cfg, failed);
  prepared_.reset();  // the engine keeps what it installed
  if (!started) return kExitStartup;  // the step logged why; the rest stopped
  config_ = cfg;
  generation_ = 1;
  status_->started(cfg, std::move(result.source_text));

  log_new_listeners();
  if (admin_started_) logger().information("admin listening address=" + admin_->bound_address());
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
    LoadedConfig result = load_config(config_path_, *engine_);
    if (!result.ok()) {
      log_lines(Poco::Message::PRIO_ERROR, config::format(result.diagnostics));
      logger().error("reload failed: " + std::to_string(result.error_count()) +
                     " errors, keeping the running configuration");
      status_->reload_failed(config::format(result.diagnostics));
      notify_reloaded();
      return;
    }
    warnings_ = result.diagnostics;
    lifecycle::Failure failed;
    prepared_ = std::move(result.prepared);
    const bool reloaded = lifecycle_.reload(result.config, config_, failed);
    prepared_.reset();  // a failed reload's files (e.g. the access log it opened) close here
    if (!reloaded) {
      // Logged after the revert, so in the log target of the configuration kept.
      const std::string error = failed.error.empty() ? "unknown error" : failed.error;
      log_lines(Poco::Message::PRIO_ERROR, error, "reload failed: ");
      status_->reload_failed(error);
      notify_reloaded();
      return;
    }
    config_ = result.config;
    ++generation_;
    log_new_listeners();
    if (admin_started_)
      logger().information("admin listening address=" + admin_->bound_address());
    status_->reloaded(config_, std::move(result.source_text));
    logger().information("reload ok generation=" + std::to_string(generation_));
  } catch (const std::exception& e) {
    prepared_.reset();
    logger().error(std::string("reload failed: ") + e.what());
    status_->reload_failed(e.what());
  }
  notify_reloaded();
}

void Daemon::shutdown() {
  if (!lifecycle_.running()) return;
  notify_stopping();
  const milliseconds timeout =
      config_ ? config_->default_timeouts.drain : milliseconds(std::chrono::seconds(30));
  logger().information("draining connections=" + std::to_string(engine_->active_connections()) +
                       " timeout=" + std::to_string(timeout.count()));
  lifecycle_.quiesce();  // admin says draining, no new ACME step, the engine drains

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

  lifecycle_.stop();  // admin, history (last sample), acme (joined), engine, mesh (addresses)
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
  register_api_routes(*fresh, ApiContext{engine_.get(), acme_.get(), mesh_.get(), status_, history_.get(), tracing_.get(), catalog_.get()});
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

void Daemon::log_warnings() {
  for (const config::Diagnostic& d : warnings_) log_lines(Poco::Message::PRIO_WARNING, config::format(d));
  warnings_.clear();
}

bool Daemon::apply_logging(const config::Config& cfg, std::string& error) {
  if (!configure_logging(cfg.global.log_target, cfg.global.log_level, error)) return false;
  install_proxy_sink(cfg.global.log_level);  // safe while workers run; updates the level
  return true;
}

}  // namespace ferry::daemon
