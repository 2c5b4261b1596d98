// The running daemon: start-up, reload (SIGHUP), graceful stop (SIGTERM/SIGINT/SIGQUIT).
// Wires the configuration, the data-plane Engine, the control-plane managers (ACME, mesh,
// history, the span exporter) and the admin server together, as one ordered list of subsystems
// (lifecycle/lifecycle.h; the list is Daemon::steps() in daemon.cpp): logging, certificates, mesh,
// engine, tracing, acme, history, admin. Start-up and reload walk it in that order (so a reload puts a
// new anycast address in place before the engine binds a listener on it, as start-up does);
// a reload that fails puts the running configuration back on the steps before the failure
// (an address added for it is removed again); shutdown walks it in reverse.
//
// Ownership: FerryApp owns one Daemon for the process lifetime; the Daemon owns the Engine,
// the AdminServer and the current configuration snapshot. Thread: every method runs on the
// main (control) thread, which must have called block_control_signals() before start().
// Errors are reported by return value (exit codes, exit_codes.h) and logged; exceptions from
// POCO are caught here, except truly unexpected ones, which FerryApp catches.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "api/daemon_status.h"
#include "ferry/configlang/config.h"
#include "ferry/configlang/load.h"
#include "catalog/catalog.h"
#include "ferry/proxy/engine.h"
#include "ferry/web/admin_server.h"
#include "history/history.h"
#include "lifecycle/lifecycle.h"
#include "services/acme_manager.h"
#include "services/mesh_manager.h"
#include "tracing/exporter.h"

namespace ferry::daemon {

class Daemon {
 public:
  explicit Daemon(std::string config_path);
  ~Daemon();  // stops the engine and the admin server if still running
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Loads the configuration, starts the engine and the admin listener, logs the
  // `listening ...`, `admin listening ...` and `ready ...` lines and notifies systemd.
  // Returns kExitOk, kExitConfigInvalid or kExitStartup (then everything started is stopped).
  int start();

  // Serves control signals until a stop signal has been handled. Returns the exit code.
  int run();

  // SIGHUP: re-read the file; on success apply it, else keep the running configuration.
  void reload();

  // Graceful stop: quiesce every subsystem (reverse order: the admin says draining, ACME gives
  // up, the engine drains), wait for the drain (bounded by `timeout drain`), then stop them in
  // reverse order (admin, history, ACME, engine, then the mesh removes its addresses).
  void shutdown();

  // The configuration in force. Control thread (the admin API will receive copies).
  std::shared_ptr<const config::Config> current() const { return config_; }
  uint64_t generation() const { return generation_; }

 private:
  // The ordered subsystem list: the one place that says what starts, reloads and stops when.
  std::vector<lifecycle::Step> steps();
  // One per subsystem (daemon.cpp says what each hook does).
  lifecycle::Step logging_step();
  lifecycle::Step certificates_step();
  lifecycle::Step mesh_step();
  lifecycle::Step catalog_step();
  lifecycle::Step engine_step();
  lifecycle::Step tracing_step();
  lifecycle::Step acme_step();
  lifecycle::Step history_step();
  lifecycle::Step admin_step();
  // Logs the `listening` line of every listener not logged before; remembers the set.
  void log_new_listeners();
  // Starts/moves/stops the admin server to match `cfg`. At start-up a failure is fatal
  // (returns false); at reload it is logged and the old server keeps running. `started`
  // is set when a new listener was started (the caller logs its address).
  bool sync_admin(const config::Config& cfg, bool startup, bool& started);
  // Creates and starts history_ after the first apply; a store failure is logged and the
  // daemon runs without history (history_ stays null).
  void start_history(const std::shared_ptr<const config::Config>& cfg);
  void log_warnings();  // those of the configuration being loaded (warnings_), once
  bool apply_logging(const config::Config& cfg, std::string& error);

  std::string config_path_;
  std::shared_ptr<const config::Config> config_;
  uint64_t generation_ = 0;  // successful loads; 1 after start()
  std::vector<config::Diagnostic> warnings_;  // of the configuration being started/reloaded
  std::unique_ptr<proxy::Engine> engine_;
  // The engine's part of the configuration being started/reloaded (load_config prepared it),
  // for the engine step; null outside a start or reload walk.
  std::shared_ptr<const proxy::PreparedConfig> prepared_;
  std::unique_ptr<TraceExporter> tracing_;  // after engine_: it drains the engine's spans
  std::unique_ptr<catalog::Catalog> catalog_;  // after engine_: it feeds the engine
  std::unique_ptr<AcmeManager> acme_;  // after engine_: it borrows the engine
  std::unique_ptr<MeshManager> mesh_;  // WireGuard interface and anycast addresses
  std::shared_ptr<DaemonStatus> status_;  // shared with the admin API's threads
  // Per-app traffic history: after engine_ (it samples it; stopped before the engine stops),
  // before admin_ (the API borrows it: admin_ is destroyed first). Null when its store could
  // not be opened.
  std::unique_ptr<History> history_;
  std::unique_ptr<web::AdminServer> admin_;
  std::optional<config::Address> admin_addr_;  // as configured for the running admin_
  std::string admin_tls_;  // its TLS paths and file contents (empty: plain HTTP)
  bool admin_started_ = false;  // the last walk started a new admin listener (to log)
  std::set<std::pair<std::string, std::string>> listeners_;  // (frontend, address) logged
  // Last: its hooks borrow everything above; the destructor stops it first.
  lifecycle::Lifecycle lifecycle_;
};

}  // namespace ferry::daemon
