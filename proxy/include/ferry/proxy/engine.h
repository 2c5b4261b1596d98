// The data plane: worker event loops, listeners, HTTP/1 and TCP proxying, balancing, health,
// per-app budgets, access log.
//
// Ownership: the daemon owns one Engine. Thread: every method is for the control thread
// (the one that created the Engine) unless stated. Workers are started by the first
// successful apply() and run until stop().
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/configlang/config.h"

namespace ferry::proxy {

// Receives the proxy's own log lines (not the access log). Called from any thread, possibly
// concurrently; must be thread-safe. Install before the first apply(); calling it again
// (e.g. on reload, to change the level) is safe while workers run.
using LogSink = std::function<void(config::LogLevel, std::string_view)>;
void set_log_sink(LogSink sink, config::LogLevel min_level);

struct ListenerInfo {
  std::string frontend;
  std::string address;  // as bound, with the real port (e.g. "127.0.0.1:41234")
};

class Engine {
 public:
  Engine();
  ~Engine();  // stop()s if needed
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Makes `cfg` the live configuration. Opens new listeners (binding every worker's socket
  // first), keeps unchanged ones open, builds the routing/balancing plan and posts it to every
  // worker; then closes listeners that are gone (their connections finish normally).
  // Returns false and sets `error` (one line per problem, e.g. "bind 1.2.3.4:80: Address
  // already in use (frontend web, ferry.conf:12:5)") when anything fails: then nothing changed.
  // In-flight requests keep the snapshot they started with.
  bool apply(std::shared_ptr<const config::Config> cfg, std::string& error);

  std::vector<ListenerInfo> listeners() const;

  // Stop accepting on every listener, close idle keep-alive connections, and make active
  // connections close after their current request. Idempotent.
  void begin_drain();
  // Waits until no downstream connection remains or `timeout` passes. True if drained.
  bool wait_drained(std::chrono::milliseconds timeout);
  // Stops the workers (aborting what remains) and joins their threads. Idempotent.
  void stop();

  size_t active_connections() const;  // any thread
  int worker_count() const;

  struct Impl;
 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::proxy
