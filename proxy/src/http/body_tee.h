// A bounded copy of a request body kept for Ferry-Replay (request/replay.h), and the
// per-worker budget all such copies share. Protocol-neutral: HTTP/1 sessions and HTTP/2
// streams tee the body they send upstream. Owned by the request (its frame) and the worker;
// worker thread only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ferry::proxy::http {

// The bytes of request bodies one worker holds in BodyTees at once, against the global
// `replay-buffer-budget`. Owned by the Worker; its thread only.
struct ReplayBudget {
  uint64_t limit = 0;
  uint64_t used = 0;
};

// A copy of the request body's payload as sent upstream (raw: the upstream connection frames
// it again when it is sent again), kept so that the request can be sent again after a
// Ferry-Replay (request/replay.h). Bounded by `max` payload bytes and by the worker's `budget`: past
// either `overflow` is set (with `over_budget` for the budget) and the copy is dropped, its
// bytes given back. Owned by the request (its frame); worker thread.
struct BodyTee {
  uint64_t max = 0;
  ReplayBudget* budget = nullptr;  // null: no worker budget
  uint64_t payload = 0;   // payload bytes seen so far
  bool overflow = false;  // the body cannot be replayed (too large, or over the budget)
  bool over_budget = false;
  std::string data;

  BodyTee() = default;
  BodyTee(const BodyTee&) = delete;
  BodyTee& operator=(const BodyTee&) = delete;
  ~BodyTee() { release(); }

  void add(std::string_view bytes) {
    if (overflow) return;
    payload += bytes.size();
    if (payload > max || (budget && budget->used + bytes.size() > budget->limit)) {
      over_budget = payload <= max;
      overflow = true;
      release();
      return;
    }
    if (budget) budget->used += bytes.size();
    reserved_ += bytes.size();
    data.append(bytes);
  }
  // Frees the copy and gives its bytes back to the budget.
  void release() {
    std::string().swap(data);
    if (budget) budget->used -= reserved_;
    reserved_ = 0;
  }

 private:
  uint64_t reserved_ = 0;  // bytes taken from `budget`
};

}  // namespace ferry::proxy::http
