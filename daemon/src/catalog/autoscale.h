// Scale-to-zero (docs/CATALOG.md): the apps' `autostart` hooks, called by this node.
//
// - Start. A request for an app with `autostart` that finds no started instance waits in the
//   data plane (request/pipeline.cpp) and tells the engine's AutostartHook, which lands in
//   request_start(). One start call per app is pending at a time: while the hook runs, and for
//   `autostart-timeout` after it succeeded (one failed waits 1 s before the next request may
//   call again), unless a started instance of the app appears meanwhile. The held requests go
//   on when the instance registers as `started` in the catalog and reaches this node's plan.
// - Stop. Every second, each of this node's own `started` instances of an app with `autostop
//   IDLE` that had nothing in flight and answered nothing for IDLE is set `stopping` (no new
//   requests), then the hook is asked to stop it: on success it becomes `stopped`, on failure
//   `started` again. At most down to `keep N` started instances, counted fleet-wide in this
//   node's picture of the catalog (two nodes deciding in the same second may each stop one).
//
// Ownership: the Catalog owns one Autoscaler (it sets the engine's hook and reads the
// catalog). Threads: request_start() from any worker (a short lock, a queue); configure() and
// stop() from the main thread; view() from admin threads. Its own thread runs the queue and
// the idle checks; each hook call runs on a thread of its own (a slow hook delays only its
// app), joined when done or at stop() (which kills running commands).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ferry/configlang/config.h"
#include "ferry/proxy/engine.h"
#include "services/hook.h"

namespace ferry::daemon::catalog {

class Catalog;

struct AutoscaleView {
  std::string app;
  bool calling = false;            // a start call is running now
  bool pending = false;            // ... or succeeded and its instance has not started yet
  int64_t last_start_unix_ms = 0;  // the last start call; 0: none
  std::string last_error;          // of the last failed call (start or stop); empty: none
  // Calls made, and of those finished: succeeded or failed.
  uint64_t start_calls = 0, start_ok = 0, start_failures = 0, stop_calls = 0, stop_ok = 0, stop_failures = 0;
};

class Autoscaler {
 public:
  Autoscaler(proxy::Engine& engine, Catalog& catalog);
  ~Autoscaler();
  Autoscaler(const Autoscaler&) = delete;
  Autoscaler& operator=(const Autoscaler&) = delete;

  // At start and every reload (the apps' hooks and limits). The first call starts the thread.
  void configure(std::shared_ptr<const config::Config> cfg);
  void stop();
  // The engine's AutostartHook: a request for `app` waits for a started instance.
  void request_start(const std::string& app);
  // Apps with `autostart`, in config order.
  std::vector<AutoscaleView> view() const;

 private:
  struct AppState {
    bool calling = false;
    int64_t quiet_until_ms = 0;  // steady ms: no new start call before (pending)
    int64_t last_start_unix_ms = 0;
    std::string last_error;
    uint64_t start_calls = 0, start_ok = 0, start_failures = 0, stop_calls = 0, stop_ok = 0, stop_failures = 0;
  };
  struct Idle {
    uint64_t responses = 0;
    int64_t since_ms = 0;  // steady ms of the last activity seen
  };
  struct Call {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };

  void run();
  // Starts the hook call on its own thread; `done(error)` runs on that thread when it ends.
  void launch(HookCall call, std::function<void(const std::string& error)> done);
  void start_call(const std::string& app, const config::App& cfg);
  // `started`: catalog_.started_by_app() of this tick (the keep count; decremented as it stops).
  void check_idle(const config::Config& cfg, std::map<std::string, int> started);
  void stop_instance(const std::string& app, const std::string& id, const std::string& address, const config::App& cfg);
  HookCall hook_for(const config::App& cfg, const std::string& action) const;

  proxy::Engine& engine_;
  Catalog& catalog_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<const config::Config> cfg_;
  std::map<std::string, AppState> apps_;   // by app name: apps with autostart
  std::deque<std::string> queue_;          // apps whose start call is due
  std::map<std::pair<std::string, std::string>, Idle> idle_;  // (app, id): own instances (thread only)
  std::vector<Call> calls_;                // thread only
  std::atomic<bool> cancel_{false};        // stop(): running commands are killed
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace ferry::daemon::catalog
