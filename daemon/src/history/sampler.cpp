#include "history/sampler.h"

#include <algorithm>

namespace ferry::daemon::history {

namespace {
constexpr int kError = 3, kWarning = 4, kInfo = 6;

int64_t seconds(config::Duration d) { return std::chrono::duration_cast<std::chrono::seconds>(d).count(); }
}  // namespace

Settings settings_of(const config::Config& cfg) {
  Settings s;
  s.enabled = cfg.global.history_enabled;
  s.interval = cfg.global.history_sample_interval;
  s.minute_retention_s = seconds(cfg.global.history_minute_retention);
  s.hour_retention_s = seconds(cfg.global.history_hour_retention);
  s.state_dir = cfg.global.state_dir;
  return s;
}

Sampler::Sampler(StatsSource source, LogFn log, Clock clock)
    : source_(std::move(source)), log_(std::move(log)), clock_(std::move(clock)) {
  if (!log_) log_ = [](int, const std::string&) {};
}

Sampler::~Sampler() { stop(); }

int64_t Sampler::now() const {
  if (clock_) return clock_();
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Settings Sampler::settings() const { return follower_.latest().value_or(Settings{}); }

store::Status Sampler::open_store(const Settings& s) {
  follower_.post(s);
  if (store_.is_open()) return store::Status::success();
  return store_.open(s.state_dir);
}

bool Sampler::start(const Settings& s, std::string& error) {
  if (follower_.running()) return true;
  if (!s.enabled) {
    follower_.post(s);
    return true;
  }
  store::Status st = open_store(s);
  if (!st) {
    error = "history store: " + st.message;
    return false;
  }
  last_ = std::chrono::steady_clock::now();
  // The first step sees the settings as fresh: the first sample is one interval from now.
  follower_.start([this](const Settings& set, bool fresh) { return step(set, fresh); },
                  // What happened since the last sample, before the engine stops.
                  [this](const Settings&) { take_sample(last_); });
  return true;
}

void Sampler::update(const Settings& s) {
  const bool running = follower_.running();
  if (s.enabled && !running) {
    std::string error;
    if (!start(s, error)) log_(kError, error + ", running without history");
    return;
  }
  if (!s.enabled && running) {
    stop();
    follower_.post(s);
    return;
  }
  Settings next = s;
  next.state_dir = settings().state_dir;  // the open store stays where it is until a restart
  follower_.post(next);
}

void Sampler::stop() { follower_.stop(); }

void Sampler::take_sample(std::chrono::steady_clock::time_point& last) {
  proxy::EngineStats stats = source_ ? source_() : proxy::EngineStats{};
  const auto t = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(t - last).count();
  last = t;
  sample(stats, now(), elapsed);
}

std::chrono::milliseconds Sampler::step(const Settings& s, bool fresh) {
  if (!fresh) take_sample(last_);
  // A new interval counts from the last sample.
  return std::chrono::ceil<std::chrono::milliseconds>(last_ + s.interval - std::chrono::steady_clock::now());
}

void Sampler::sample(const proxy::EngineStats& stats, int64_t now, double elapsed_s) {
  const Settings settings = this->settings();
  std::vector<AppDelta> deltas = compute_deltas(prev_, stats);
  prev_ = stats;
  const int64_t minute = minute_of(now);

  std::map<std::string, double> rates;
  for (AppDelta& d : deltas) {
    rates[d.app] = elapsed_s > 0 ? static_cast<double>(d.delta.requests()) / elapsed_s : 0.0;
    if (d.delta.empty()) continue;
    auto key = std::make_pair(d.app, minute);
    auto it = rows_.find(key);
    if (it == rows_.end()) {
      Pending p;
      // A minute row written before a restart (or before the app was re-added) is the base.
      bool found = false;
      if (store_.is_open()) {
        store::Status s = store_.load(Table::minute, d.app, minute, p.row, found);
        if (!s) log_(kWarning, "history: reading minute row of app " + d.app + ": " + s.message);
      }
      it = rows_.emplace(std::move(key), std::move(p)).first;
    }
    it->second.row.add(d.delta);
    it->second.dirty = true;
  }

  if (store_.is_open()) {
    store::Status s = flush(now, settings);
    if (s) {
      if (failing_) log_(kInfo, "history: writing to " + store_.path() + " works again");
      failing_ = false;
      for (auto it = rows_.begin(); it != rows_.end();) {
        it->second.dirty = false;
        // Finished minutes are in the database now; the current one keeps filling in memory.
        if (it->first.second < minute) it = rows_.erase(it);
        else ++it;
      }
    } else if (!failing_) {
      failing_ = true;
      log_(kError, "history: write failed, keeping the rows in memory and retrying at the next sample: " +
                       s.message);
    }
  }
  publish(rates);
}

store::Status Sampler::flush(int64_t now, const Settings& settings) {
  store::Transaction tx(store_.writer());
  store::Status s = tx.begin();
  for (auto it = rows_.begin(); s && it != rows_.end(); ++it)
    if (it->second.dirty) s = store_.upsert(Table::minute, {it->first.first, it->first.second, it->second.row});

  // Roll every finished hour not rolled yet into hour rows (at most kRollBatch per sample).
  const int64_t current_hour = hour_of(now);
  std::optional<int64_t> through = rolled_through_;
  if (s && !through) {
    std::optional<int64_t> last_hour, first_minute;
    s = store_.last_t(Table::hour, last_hour);
    if (s && !last_hour) s = store_.first_at_or_after(Table::minute, INT64_MIN, first_minute);
    if (s) through = last_hour ? *last_hour : first_minute ? hour_of(*first_minute) - 3600 : current_hour - 3600;
  }
  for (int n = 0; s && n < kRollBatch && *through + 3600 < current_hour; ++n) {
    std::optional<int64_t> first;
    s = store_.first_at_or_after(Table::minute, *through + 3600, first);
    if (!s) break;
    if (!first || *first >= current_hour) {  // no finished minute left: skip the gap
      through = current_hour - 3600;
      break;
    }
    const int64_t h = hour_of(*first);
    std::vector<KeyedRow> minutes;
    s = store_.rows_between(Table::minute, h, h + 3600, minutes);
    for (const KeyedRow& r : rollup_hours(minutes)) {
      if (!s) break;
      s = store_.upsert(Table::hour, r);
    }
    through = h;
  }

  // Expired rows, oldest first, at most kPruneBatch in all. Minute rows not rolled yet stay.
  if (s) {
    int deleted = 0;
    const int64_t minute_cut = std::min(now - settings.minute_retention_s, *through + 3600);
    s = store_.prune(Table::minute, minute_cut, kPruneBatch, deleted);
    if (s && deleted < kPruneBatch)
      s = store_.prune(Table::hour, now - settings.hour_retention_s, kPruneBatch - deleted, deleted);
  }
  if (s) s = tx.commit();
  if (s) rolled_through_ = through;
  return s;
}

void Sampler::publish(const std::map<std::string, double>& rates) {
  std::map<std::pair<std::string, int64_t>, Row> mem;
  for (const auto& [key, p] : rows_) mem.emplace(key, p.row);
  std::lock_guard<std::mutex> lk(mu_);
  mem_ = std::move(mem);
  rates_ = rates;
}

std::vector<HistoryPoint> Sampler::query(const std::string& app, int64_t from, int64_t to, int resolution) const {
  // Stored rows of `table` in [lo, to).
  auto stored_rows = [&](Table table, int64_t lo) {
    std::map<int64_t, Row> rows;
    std::vector<KeyedRow> stored;
    store::Status s = store_.query(table, app, lo, to, stored);
    if (!s) log_(kWarning, "history: query of app " + app + ": " + s.message);
    for (KeyedRow& r : stored) rows[r.t] = r.row;
    return rows;
  };
  // Minute rows of [lo, to): the stored ones, overlaid by the rows in memory (the current
  // minute, and any not written yet), which are the newest figures.
  auto minute_rows = [&](int64_t lo) {
    std::map<int64_t, Row> minutes = stored_rows(Table::minute, lo);
    std::lock_guard<std::mutex> lk(mu_);
    for (auto it = mem_.lower_bound({app, lo}); it != mem_.end() && it->first.first == app && it->first.second < to;
         ++it)
      minutes[it->first.second] = it->second;
    return minutes;
  };
  std::map<int64_t, Row> rows;
  if (resolution < 3600) {
    rows = minute_rows(from);
  } else {
    rows = stored_rows(Table::hour, from);
    // Hours not rolled up yet (the current one; the last one until the sampler gets to it) are
    // merged from their minute rows the way the roll-up merges them.
    const int64_t after_rolled = rows.empty() ? hour_of(from) : rows.rbegin()->first + 3600;
    for (auto& [t, r] : minute_rows(std::max(after_rolled, hour_of(from)))) {
      const int64_t h = hour_of(t);
      if (h >= from) rows[h].add(r);
    }
  }
  std::vector<HistoryPoint> out;
  out.reserve(rows.size());
  for (const auto& [t, r] : rows) out.push_back(to_point(t, r));
  return out;
}

std::map<std::string, double> Sampler::rates() const {
  std::lock_guard<std::mutex> lk(mu_);
  return rates_;
}

std::vector<uint64_t> Sampler::spark(const std::string& app, int minutes) const {
  if (minutes <= 0) return {};
  const int64_t current = minute_of(now());
  const int64_t from = current - static_cast<int64_t>(minutes - 1) * 60;
  std::vector<uint64_t> out(static_cast<size_t>(minutes), 0);
  for (const HistoryPoint& p : query(app, from, current + 60, 60)) {
    const int64_t i = (p.t - from) / 60;
    if (i >= 0 && i < minutes) out[static_cast<size_t>(i)] = p.requests;
  }
  return out;
}

}  // namespace ferry::daemon::history
