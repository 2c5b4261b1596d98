// What the daemon's control thread knows about itself, shared with the admin API threads:
// the configuration in force, when it was loaded, reload results, and a way to ask for a
// reload. The API, /metrics and the history writer read it; only the main thread writes it.
//
// Ownership: the Daemon holds it by shared_ptr and hands copies to the admin routes. Thread:
// every method is thread-safe (one mutex, never held across I/O).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ferry/configlang/config.h"

namespace ferry::daemon {

struct ReloadRecord {
  uint64_t attempts = 0;       // reloads tried (signal or API), start-up not counted
  uint64_t failures = 0;       // of which failed (old configuration kept)
  bool last_ok = true;         // the last reload (or the start-up load) succeeded
  std::string last_error;      // diagnostics of the last failed reload, one per line
  std::chrono::system_clock::time_point last_at{};  // end of the last attempt (start-up: start)
};

struct DaemonSnapshot {
  std::shared_ptr<const config::Config> config;  // in force
  std::string config_path;
  uint64_t generation = 0;                              // successful loads; 1 after start-up
  std::chrono::system_clock::time_point started_at{};   // process start (ready)
  std::chrono::system_clock::time_point loaded_at{};    // when `config` went live
  ReloadRecord reload;
  std::string config_text;  // the main file's text as read for `config` (GET /api/v1/config)
  // The engine's listeners as bound after the last apply: (frontend, "127.0.0.1:41234"). Kept
  // here because Engine::listeners() is for the main thread only.
  std::vector<std::pair<std::string, std::string>> listeners;
};

class DaemonStatus {
 public:
  explicit DaemonStatus(std::string config_path);

  DaemonSnapshot get() const;

  // Main thread: the start-up configuration went live.
  // `config_text`: the main file's text it was parsed from.
  void started(std::shared_ptr<const config::Config> cfg, std::string config_text = {});
  // Main thread: a reload finished: ok with the new configuration, or failed with `error`.
  void reloaded(std::shared_ptr<const config::Config> cfg, std::string config_text = {});
  // Main thread: the listeners as bound now (after start-up and after each reload).
  void set_listeners(std::vector<std::pair<std::string, std::string>> listeners);
  void reload_failed(std::string error);

  // Any thread (admin API): asks the main thread to reload (raises SIGHUP) and waits up to
  // `timeout` for that reload to finish. Returns the record after it, or nullopt-like false
  // in `finished` when it did not finish in time.
  ReloadRecord request_reload(std::chrono::milliseconds timeout, bool& finished);

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  DaemonSnapshot s_;
};

}  // namespace ferry::daemon
