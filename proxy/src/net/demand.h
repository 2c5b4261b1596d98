// How many free objects a cache of reusable objects should keep: as many as were in use at the
// busiest moment of the last two trim periods, minus those in use now. A steady load then takes
// and gives back without touching the allocator, whatever its concurrency, and what a burst
// left behind goes back to the allocator over the next trims. Used by net/free_list.h and the
// size classes of http2/mem.cpp. Not thread-safe: one per cache, on the cache's thread.
#pragma once

#include <algorithm>
#include <cstddef>

namespace ferry::proxy {

class Demand {
 public:
  void took() { peak_ = std::max(peak_, ++in_use_); }
  void gave() {
    if (in_use_ > 0) --in_use_;
  }
  // Free objects worth keeping now. A cache drops what it is given beyond this (nothing else
  // bounds it between trims) and frees the excess on trim().
  size_t keep() const {
    const size_t peak = std::max(peak_, prev_peak_);
    return peak > in_use_ ? peak - in_use_ : 0;
  }
  // Starts a new period; called by the cache's trim() after it freed down to keep().
  void roll() {
    prev_peak_ = peak_;
    peak_ = in_use_;
  }
  size_t in_use() const { return in_use_; }

 private:
  size_t in_use_ = 0;     // taken and not given back
  size_t peak_ = 0;       // the most in use since the last trim
  size_t prev_peak_ = 0;  // ... and in the period before it
};

}  // namespace ferry::proxy
