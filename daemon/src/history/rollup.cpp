#include "history/rollup.h"

#include <algorithm>
#include <charconv>
#include <unordered_map>

namespace ferry::daemon::history {

uint64_t Row::requests() const {
  uint64_t n = 0;
  for (uint64_t c : by_class) n += c;
  return n;
}

bool Row::empty() const {
  if (requests() != 0 || bytes_in != 0 || bytes_out != 0 || rejected != 0 || peak_inflight != 0) return false;
  for (uint64_t c : buckets)
    if (c != 0) return false;
  return true;
}

void Row::add(const Row& o) {
  for (size_t i = 0; i < by_class.size(); ++i) by_class[i] += o.by_class[i];
  bytes_in += o.bytes_in;
  bytes_out += o.bytes_out;
  rejected += o.rejected;
  for (size_t i = 0; i < buckets.size(); ++i) buckets[i] += o.buckets[i];
  peak_inflight = std::max(peak_inflight, o.peak_inflight);
}

Buckets to_buckets(const proxy::Histogram& h) {
  Buckets b{};
  uint64_t below = 0;
  for (size_t i = 0; i < h.counts.size(); ++i) {
    b[i] = h.counts[i] > below ? h.counts[i] - below : 0;
    below = std::max(below, h.counts[i]);
  }
  b[kBuckets - 1] = h.count > below ? h.count - below : 0;
  return b;
}

Row counters_of(const proxy::AppStats& s) {
  Row r;
  for (const auto& proto : s.requests)
    for (size_t c = 0; c < proto.size(); ++c) r.by_class[c] += proto[c];
  r.bytes_in = s.bytes_in;
  r.bytes_out = s.bytes_out;
  r.rejected = s.rejected;
  r.buckets = to_buckets(s.duration);
  r.peak_inflight = std::max(0, s.inflight);
  return r;
}

bool went_backwards(const Row& prev, const Row& cur) {
  for (size_t i = 0; i < cur.by_class.size(); ++i)
    if (cur.by_class[i] < prev.by_class[i]) return true;
  if (cur.bytes_in < prev.bytes_in || cur.bytes_out < prev.bytes_out || cur.rejected < prev.rejected) return true;
  for (size_t i = 0; i < cur.buckets.size(); ++i)
    if (cur.buckets[i] < prev.buckets[i]) return true;
  return false;
}

std::vector<AppDelta> compute_deltas(const proxy::EngineStats& prev, const proxy::EngineStats& cur) {
  std::unordered_map<std::string_view, const proxy::AppStats*> before;
  before.reserve(prev.apps.size());
  for (const proxy::AppStats& a : prev.apps) before.emplace(a.name, &a);

  std::vector<AppDelta> out;
  out.reserve(cur.apps.size());
  for (const proxy::AppStats& a : cur.apps) {
    AppDelta d{a.name, counters_of(a)};
    auto it = before.find(a.name);
    if (it != before.end()) {
      Row p = counters_of(*it->second);
      if (!went_backwards(p, d.delta)) {
        Row& r = d.delta;
        for (size_t i = 0; i < r.by_class.size(); ++i) r.by_class[i] -= p.by_class[i];
        r.bytes_in -= p.bytes_in;
        r.bytes_out -= p.bytes_out;
        r.rejected -= p.rejected;
        for (size_t i = 0; i < r.buckets.size(); ++i) r.buckets[i] -= p.buckets[i];
      }
    }
    out.push_back(std::move(d));
  }
  return out;
}

double percentile_ms(const Buckets& b, double q) {
  uint64_t total = 0;
  for (uint64_t c : b) total += c;
  if (total == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const double rank = q * static_cast<double>(total);
  uint64_t below = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    if (b[i] == 0) continue;
    if (static_cast<double>(below + b[i]) >= rank) {
      if (i == b.size() - 1) return proxy::kDurationBuckets.back() * 1000.0;  // +Inf bucket
      const double lo = i == 0 ? 0.0 : proxy::kDurationBuckets[i - 1];
      const double hi = proxy::kDurationBuckets[i];
      const double frac = (rank - static_cast<double>(below)) / static_cast<double>(b[i]);
      return (lo + (hi - lo) * std::clamp(frac, 0.0, 1.0)) * 1000.0;
    }
    below += b[i];
  }
  return proxy::kDurationBuckets.back() * 1000.0;  // unreachable: rank <= total
}

HistoryPoint to_point(int64_t t, const Row& r) {
  HistoryPoint p;
  p.t = t;
  p.requests = r.requests();
  p.s1xx = r.by_class[1];
  p.s2xx = r.by_class[2];
  p.s3xx = r.by_class[3];
  p.s4xx = r.by_class[4];
  p.s5xx = r.by_class[5];
  p.bytes_in = r.bytes_in;
  p.bytes_out = r.bytes_out;
  p.rejected = r.rejected;
  p.p50_ms = percentile_ms(r.buckets, 0.50);
  p.p95_ms = percentile_ms(r.buckets, 0.95);
  p.p99_ms = percentile_ms(r.buckets, 0.99);
  p.peak_inflight = r.peak_inflight;
  return p;
}

namespace {
int64_t floor_to(int64_t t, int64_t step) {
  int64_t q = t / step;
  if (t % step != 0 && t < 0) --q;
  return q * step;
}
}  // namespace

int64_t minute_of(int64_t t) { return floor_to(t, 60); }
int64_t hour_of(int64_t t) { return floor_to(t, 3600); }

std::string encode_buckets(const Buckets& b) {
  std::string s;
  s.reserve(b.size() * 4);
  for (size_t i = 0; i < b.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(b[i]);
  }
  return s;
}

std::optional<Buckets> decode_buckets(std::string_view text) {
  Buckets b{};
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (size_t i = 0; i < b.size(); ++i) {
    if (i) {
      if (p == end || *p != ',') return std::nullopt;
      ++p;
    }
    auto [next, ec] = std::from_chars(p, end, b[i]);
    if (ec != std::errc() || next == p) return std::nullopt;
    p = next;
  }
  if (p != end) return std::nullopt;
  return b;
}

std::vector<KeyedRow> rollup_hours(const std::vector<KeyedRow>& minutes) {
  std::map<std::pair<std::string, int64_t>, Row> hours;
  for (const KeyedRow& m : minutes) hours[{m.app, hour_of(m.t)}].add(m.row);
  std::vector<KeyedRow> out;
  out.reserve(hours.size());
  for (auto& [key, row] : hours) out.push_back({key.first, key.second, row});
  return out;
}

std::optional<HistoryRange> parse_history_range(std::string_view text) {
  static constexpr std::pair<std::string_view, HistoryRange> kRanges[] = {
      {"15m", {15 * 60, 60}},     {"1h", {3600, 60}},          {"6h", {6 * 3600, 60}},
      {"24h", {24 * 3600, 60}},   {"48h", {48 * 3600, 60}},    {"7d", {7 * 86400, 3600}},
      {"30d", {30 * 86400, 3600}},
  };
  for (const auto& [name, range] : kRanges)
    if (name == text) return range;
  return std::nullopt;
}

}  // namespace ferry::daemon::history
