// The history's working core: samples a stats source, keeps the current minute's rows in
// memory, writes them to the HistoryStore in one transaction per sample, rolls finished hours
// into hour rows and prunes expired rows in small batches; answers the History queries.
//
// History (history.h) is a thin wrapper that feeds it Engine::stats(); tests feed it
// hand-made snapshots and drive sample() with their own clock.
//
// Ownership: the sampler owns its HistoryStore and its thread (a Follower of the Settings,
// lifecycle/follower.h: a reload posts new settings, the timer takes the samples, the finish
// takes the last one). Threads: start()/update()/stop() on one control thread (the daemon's
// main thread); the sampling thread runs sample() and is the only user of the store's writer;
// query()/rates()/spark() from any thread (the store's reader connection under its mutex, the
// in-memory rows under mu_). sample() may also be called directly by a test that did not
// start the thread.
// Errors: a failed transaction is reported through the log callback (once, then again when it
// recovers) and retried at the next sample with the rows still in memory.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ferry/configlang/config.h"
#include "ferry/proxy/stats.h"
#include "history/history.h"
#include "history/history_store.h"
#include "history/rollup.h"
#include "lifecycle/follower.h"

namespace ferry::daemon::history {

struct Settings {
  bool enabled = true;  // false: `history-retention off`
  std::chrono::milliseconds interval{10'000};
  int64_t minute_retention_s = 48 * 3600;
  int64_t hour_retention_s = 30 * 86400;
  std::string state_dir;
  bool operator==(const Settings&) const = default;
};
Settings settings_of(const config::Config& cfg);

// Rows deleted per sample at most (minute and hour rows together), so a node stopped for a
// long time catches up over several samples instead of stalling one.
inline constexpr int kPruneBatch = 1000;
// Hours rolled per sample at most (the same reason).
inline constexpr int kRollBatch = 6;

class Sampler {
 public:
  using StatsSource = std::function<proxy::EngineStats()>;
  // level: 3 = error, 4 = warning, 6 = information (Poco priorities).
  using LogFn = std::function<void(int level, const std::string& message)>;
  using Clock = std::function<int64_t()>;  // unix seconds

  Sampler(StatsSource source, LogFn log, Clock clock = {});
  ~Sampler();  // stop()s
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  // Opens the store (when enabled) and starts the thread. False with `error` when the store
  // cannot be opened. With history disabled: true, nothing opened, no thread.
  bool start(const Settings& s, std::string& error);
  // New interval / retention. Enabling opens the store and starts the thread (a failure is
  // logged); disabling stops it (pending rows written first). A changed state_dir takes
  // effect at the next start.
  void update(const Settings& s);
  // Takes a last sample, writes it, joins the thread. Idempotent.
  void stop();

  // For tests (and the thread): opens the store without starting the thread.
  store::Status open_store(const Settings& s);
  // One sample of `stats` taken at unix time `now` (`elapsed_s` since the previous one, for
  // rates()). The sampling thread only (or a test that did not start() the thread).
  void sample(const proxy::EngineStats& stats, int64_t now, double elapsed_s);

  std::vector<HistoryPoint> query(const std::string& app, int64_t from, int64_t to, int resolution) const;
  std::map<std::string, double> rates() const;
  std::vector<uint64_t> spark(const std::string& app, int minutes) const;
  // The store, for tests (writer side: the sampling thread only).
  HistoryStore& store() { return store_; }
  int64_t rolled_through() const { return rolled_through_.value_or(0); }

 private:
  // The follower's step: a sample at each tick; new settings (fresh) only move the next one.
  std::chrono::milliseconds step(const Settings& s, bool fresh);
  Settings settings() const;  // the newest posted (defaults before any)
  int64_t now() const;
  // Writes dirty rows, rolls hours, prunes; all in one transaction. Sampler thread.
  store::Status flush(int64_t now, const Settings& s);
  void take_sample(std::chrono::steady_clock::time_point& last);
  void publish(const std::map<std::string, double>& rates);

  StatsSource source_;
  LogFn log_;
  Clock clock_;

  // Sampling thread only.
  std::chrono::steady_clock::time_point last_;  // of the last sample (set by start())
  HistoryStore store_;
  proxy::EngineStats prev_;
  struct Pending {
    Row row;
    bool dirty = false;
  };
  std::map<std::pair<std::string, int64_t>, Pending> rows_;  // (app, minute) in memory
  std::optional<int64_t> rolled_through_;  // last hour rolled into history_hour
  bool failing_ = false;                   // the last flush failed (logged once)

  // Published for the query side.
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int64_t>, Row> mem_;  // copy of rows_ after each sample
  std::map<std::string, double> rates_;

  // Control thread -> sampling thread: the settings in force. Last: joined first.
  Follower<Settings> follower_;
};

}  // namespace ferry::daemon::history
