// The pure arithmetic of the per-app history: counter deltas between two Engine::stats()
// snapshots, minute/hour rows, duration-histogram percentiles, and the text form of the
// histogram buckets stored with every row.
//
// No I/O, no clock, no threads: every function is pure and may be called from any thread.
// The sampler (history/sampler.h) calls them; unit tests feed them hand-made snapshots.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ferry/proxy/stats.h"
#include "history/history.h"

namespace ferry::daemon::history {

// Request-duration histogram as per-bucket (NOT cumulative) counts: index i < 14 counts
// observations in (kDurationBuckets[i-1], kDurationBuckets[i]] (i = 0: [0, 0.001]), index 14
// those above the last bound (+Inf).
inline constexpr size_t kBuckets = proxy::kDurationBuckets.size() + 1;
using Buckets = std::array<uint64_t, kBuckets>;

// One minute's (or hour's) figures of one app, or a delta between two samples.
struct Row {
  std::array<uint64_t, proxy::kStatusClasses> by_class{};  // index 0 "none", 1..5 = 1xx..5xx
  uint64_t bytes_in = 0, bytes_out = 0, rejected = 0;
  Buckets buckets{};
  int peak_inflight = 0;  // in a delta: the in-flight count sampled with it

  uint64_t requests() const;  // every status class, "none" included
  bool empty() const;         // no request, byte, rejection, duration or in-flight
  // Sums the counters; peak_inflight = max of both.
  void add(const Row& other);
  bool operator==(const Row&) const = default;
};

// Prometheus-style cumulative histogram -> per-bucket counts. Tolerates a non-monotonic
// input (a racing snapshot) by clamping each bucket at 0.
Buckets to_buckets(const proxy::Histogram& h);

// The app's cumulative counters in `s` as a Row (status classes summed over protocols,
// peak_inflight = s.inflight).
Row counters_of(const proxy::AppStats& s);

// True when any counter of `cur` is below the same counter of `prev`: the app was removed and
// added again (its counters restarted from zero) between the two samples.
bool went_backwards(const Row& prev, const Row& cur);

struct AppDelta {
  std::string app;
  Row delta;  // counters since the previous sample; peak_inflight = inflight now
};

// Per-app deltas between two snapshots, in `cur`'s order, one per app of `cur` (apps only in
// `prev` were removed: nothing). An app absent from `prev` (new, or the first sample after
// the process started: counters start at 0) or whose counters went backwards counts from
// zero: its delta is its current value.
std::vector<AppDelta> compute_deltas(const proxy::EngineStats& prev, const proxy::EngineStats& cur);

// The q-quantile (0 < q <= 1) in milliseconds of the durations in `b`, by linear
// interpolation within the bucket that holds the rank q * total (Prometheus'
// histogram_quantile): bucket i spans (bound[i-1], bound[i]] (0 for i = 0). A rank in the
// +Inf bucket answers the last finite bound (30 s). 0 when `b` is empty.
double percentile_ms(const Buckets& b, double q);

// Row -> API point (status classes, bytes, p50/p95/p99 from the buckets).
HistoryPoint to_point(int64_t t, const Row& r);

// Start of the minute / hour holding unix time `t` (floor, also for negative t).
int64_t minute_of(int64_t t);
int64_t hour_of(int64_t t);

// Buckets as text: the 15 counts separated by ',' ("0,3,10,...,0"). decode_buckets accepts
// exactly that form (15 unsigned decimals), else nullopt.
std::string encode_buckets(const Buckets& b);
std::optional<Buckets> decode_buckets(std::string_view text);

// A stored row: app, start time, figures.
struct KeyedRow {
  std::string app;
  int64_t t = 0;
  Row row;
};

// Rolls minute rows into hour rows: one per (app, hour) that has minutes, counters summed,
// buckets summed (so the hour's percentiles come from the merged histogram), peak = max.
// Sorted by (app, t).
std::vector<KeyedRow> rollup_hours(const std::vector<KeyedRow>& minutes);

// The `range` parameter of GET /api/v1/apps/NAME/history (docs/API.md): 15m 1h 6h 24h 48h
// read minute rows (resolution 60), 7d 30d hour rows (3600). nullopt for anything else.
struct HistoryRange {
  int64_t seconds = 0;
  int resolution = 60;
};
std::optional<HistoryRange> parse_history_range(std::string_view text);

}  // namespace ferry::daemon::history
