// Hand-made Engine::stats() snapshots for the history tests.
#pragma once

#include <initializer_list>
#include <string>
#include <utility>

#include "ferry/proxy/stats.h"

namespace ferry::daemon::history::test {

// Cumulative counters of one app, as Engine::stats() would report them.
struct AppSpec {
  std::string name;
  uint64_t s2xx = 0, s4xx = 0, s5xx = 0, none = 0;
  uint64_t bytes_in = 0, bytes_out = 0, rejected = 0;
  int inflight = 0;
  // Observed durations (seconds): each adds one observation to the histogram.
  std::initializer_list<std::pair<double, uint64_t>> durations = {};
};

inline void observe(proxy::Histogram& h, double seconds, uint64_t n) {
  for (size_t i = 0; i < h.counts.size(); ++i)
    if (seconds <= proxy::kDurationBuckets[i]) h.counts[i] += n;
  h.count += n;
  h.sum += seconds * static_cast<double>(n);
}

inline proxy::AppStats app(const AppSpec& s) {
  proxy::AppStats a;
  a.name = s.name;
  a.mode = "http";
  // Split over two protocols to check that they are summed.
  a.requests[0][2] = s.s2xx / 2;
  a.requests[1][2] = s.s2xx - s.s2xx / 2;
  a.requests[0][4] = s.s4xx;
  a.requests[1][5] = s.s5xx;
  a.requests[2][0] = s.none;
  a.bytes_in = s.bytes_in;
  a.bytes_out = s.bytes_out;
  a.rejected = s.rejected;
  a.inflight = s.inflight;
  for (const auto& [secs, n] : s.durations) observe(a.duration, secs, n);
  return a;
}

inline proxy::EngineStats snapshot(std::initializer_list<AppSpec> apps) {
  proxy::EngineStats st;
  for (const AppSpec& s : apps) st.apps.push_back(app(s));
  return st;
}

}  // namespace ferry::daemon::history::test
