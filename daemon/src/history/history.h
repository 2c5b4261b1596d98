// Per-app traffic history: the control plane samples Engine::stats() every
// `history-sample-interval` (10 s), folds the deltas into per-minute rows (requests by status
// class, bytes, p50/p95/p99 latency from the duration histogram, peak in-flight, rejections),
// rolls complete hours into hour rows, writes them to state-dir/ferry.db in one transaction per
// sample, and prunes rows older than `history-retention` in small batches.
//
// Ownership: the Daemon owns one History (after the Engine it samples, so it stops first).
// Threads: start()/update()/stop() on the main thread; the sampler runs on its own thread and
// does all SQLite I/O there (never on a worker); the query methods are called from admin API
// threads and read SQLite through their own connection (WAL: readers never block the writer).
// Errors: a failed write is logged and retried at the next sample (the rows stay in memory);
// the data plane never waits for the disk.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ferry/configlang/config.h"
#include "ferry/proxy/engine.h"

namespace ferry::daemon {

struct HistoryPoint {
  int64_t t = 0;  // Unix seconds, start of the minute / hour
  uint64_t requests = 0, s1xx = 0, s2xx = 0, s3xx = 0, s4xx = 0, s5xx = 0;
  uint64_t bytes_in = 0, bytes_out = 0, rejected = 0;
  double p50_ms = 0, p95_ms = 0, p99_ms = 0;
  int peak_inflight = 0;
};

class History {
 public:
  explicit History(proxy::Engine& engine);
  ~History();  // stop()s
  // Opens the store (state-dir/ferry.db) and starts the sampler. False with `error` when the
  // store cannot be opened (then the daemon runs without history and logs why).
  bool start(std::shared_ptr<const config::Config> cfg, std::string& error);
  void update(std::shared_ptr<const config::Config> cfg);  // reload: retention, interval
  void stop();  // writes what is pending, joins the thread. Idempotent.

  // Any thread. Rows of `app` with from <= t < to; resolution 60 (minute rows, the current
  // minute included while it fills) or 3600 (hour rows). Oldest first.
  std::vector<HistoryPoint> query(const std::string& app, int64_t from, int64_t to, int resolution) const;
  // Any thread. Requests per second of each app over the last sample interval (0 for apps
  // without traffic; apps unknown yet are absent).
  std::map<std::string, double> rates() const;
  // Any thread. Requests per minute of `app` over the last `minutes` minutes, oldest first
  // (missing minutes are 0), the current minute last.
  std::vector<uint64_t> spark(const std::string& app, int minutes) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::daemon
