// The newest slow requests (at least `tracing slow` long, tracing on), kept for the console's
// app page, which links each one to its trace (`tracing ui-url`).
//
// Ownership: one per Engine (EngineShared::slow), across reloads. Threads: workers add() —
// with try_lock, so a worker never waits: when another thread holds the lock the entry is
// skipped — and admin threads read snapshot(). Never throws but bad_alloc.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string_view>
#include <vector>

#include "ferry/proxy/stats.h"

namespace ferry::proxy {

class SlowLog {
 public:
  static constexpr size_t kCapacity = 256;  // all apps together, newest kept

  void add(SlowRequest r);
  // The newest entries of `app` first, at most `max`.
  std::vector<SlowRequest> snapshot(std::string_view app, size_t max) const;

 private:
  mutable std::mutex mu_;
  std::deque<SlowRequest> entries_;  // oldest first
};

}  // namespace ferry::proxy
