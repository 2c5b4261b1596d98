// A per-worker free list of reusable heap objects whose length follows demand (net/demand.h):
// an HTTP/2 connection may run hundreds of streams without touching the allocator, and idle
// connections do not pay for yesterday's peak. Worker thread only.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "net/demand.h"

namespace ferry::proxy {

template <class T>
class FreeList {
 public:
  // A free object, or make()'s new one. Counts as in use until given back.
  template <class Make>
  std::unique_ptr<T> take(Make make) {
    demand_.took();
    if (free_.empty()) return make();
    auto p = std::move(free_.back());
    free_.pop_back();
    return p;
  }
  // Back for reuse, or freed if the list already holds what demand keeps.
  void give(std::unique_ptr<T> p) {
    if (!p) return;
    demand_.gave();
    if (free_.size() < demand_.keep()) free_.push_back(std::move(p));
  }
  // Frees the objects the last two periods did not need; called on a timer (the worker's
  // tick). Returns how many it freed.
  size_t trim() {
    const size_t n = free_.size() > demand_.keep() ? free_.size() - demand_.keep() : 0;
    free_.resize(free_.size() - n);
    if (free_.empty()) std::vector<std::unique_ptr<T>>().swap(free_);
    demand_.roll();
    return n;
  }
  size_t free_count() const { return free_.size(); }
  size_t in_use() const { return demand_.in_use(); }

 private:
  std::vector<std::unique_ptr<T>> free_;
  Demand demand_;
};

}  // namespace ferry::proxy
