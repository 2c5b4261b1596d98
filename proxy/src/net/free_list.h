// A per-worker free list of reusable heap objects whose length follows demand. Worker thread
// only.
//
// It keeps at most as many objects as were in use at the busiest moment of the last two trim
// periods (minus those in use now). A steady load therefore takes and gives back without
// touching the allocator, whatever its concurrency (an HTTP/2 connection may run hundreds of
// streams), and what a burst or a finished load left behind goes back to the allocator over the
// next trim()s, so idle connections do not pay for yesterday's peak.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <vector>

namespace ferry::proxy {

template <class T>
class FreeList {
 public:
  // A free object, or make()'s new one. Counts as in use until given back.
  template <class Make>
  std::unique_ptr<T> take(Make make) {
    peak_ = std::max(peak_, ++in_use_);
    if (free_.empty()) return make();
    auto p = std::move(free_.back());
    free_.pop_back();
    return p;
  }
  // Back for reuse. Never more than the peak in use: nothing else bounds the list between trims.
  void give(std::unique_ptr<T> p) {
    if (!p) return;
    if (in_use_ > 0) --in_use_;
    free_.push_back(std::move(p));
  }
  // Frees the objects the last two periods did not need; called on a timer (the worker's tick).
  void trim() {
    const size_t peak = std::max(peak_, prev_peak_);
    const size_t keep = peak > in_use_ ? peak - in_use_ : 0;
    if (free_.size() > keep) free_.resize(keep);
    if (free_.empty()) std::vector<std::unique_ptr<T>>().swap(free_);
    prev_peak_ = peak_;
    peak_ = in_use_;
  }
  size_t free_count() const { return free_.size(); }
  size_t in_use() const { return in_use_; }

 private:
  std::vector<std::unique_ptr<T>> free_;
  size_t in_use_ = 0;     // taken and not given back
  size_t peak_ = 0;       // the most in use since the last trim
  size_t prev_peak_ = 0;  // ... and in the period before it
};

}  // namespace ferry::proxy
