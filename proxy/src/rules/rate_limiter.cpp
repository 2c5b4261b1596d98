#include "rules/rate_limiter.h"

#include <algorithm>
#include <bit>
#include <random>

namespace ferry::proxy::rules {

namespace {

// A slot: milli-tokens in the high 28 bits, the refill time (ms since the epoch, + 1; 0 =
// never used: a full bucket) in the low 36 bits (795 days). `per_hour` tokens an hour are
// `per_hour` milli-tokens per 3600 ms; the time advances only by what the tokens credited
// took, so the rest carries to the next take (no rounding drift at slow rates).
constexpr int kTimeBits = 36;
constexpr uint64_t kTimeMask = (uint64_t{1} << kTimeBits) - 1;

uint64_t seed() {
  static const uint64_t s = [] {
    std::random_device rd;
    return (uint64_t{rd()} << 32) ^ rd();
  }();
  return s;
}

}  // namespace

RateLimiter::RateLimiter(uint64_t per_hour, uint32_t burst, uint64_t now_ms, size_t slots)
    : per_hour_(std::max<uint64_t>(per_hour, 1)),
      cap_milli_(uint64_t{std::clamp<uint32_t>(burst, 1, 100000)} * 1000),
      fill_ms_((cap_milli_ * 3600 + per_hour_ - 1) / per_hour_),
      mask_(std::bit_ceil(std::max<size_t>(slots, 1)) - 1),
      slots_(new std::atomic<uint64_t>[mask_ + 1]),
      epoch_ms_(now_ms) {
  for (size_t i = 0; i <= mask_; ++i) slots_[i].store(0, std::memory_order_relaxed);
}

uint64_t RateLimiter::hash(std::string_view bytes) {
  uint64_t h = 1469598103934665603ull ^ seed();
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  return h ^ (h >> 33);
}

uint64_t RateLimiter::take(uint64_t key, uint64_t now_ms) {
  std::atomic<uint64_t>& slot = slots_[key & mask_];
  const uint64_t now = ((now_ms >= epoch_ms_ ? now_ms - epoch_ms_ : 0) + 1) & kTimeMask;
  uint64_t old = slot.load(std::memory_order_relaxed);
  for (;;) {
    const uint64_t then = old & kTimeMask;
    uint64_t tokens = cap_milli_, at = now;  // never used (or the time wrapped): full
    if (then != 0 && then <= now && now - then < fill_ms_) {
      const uint64_t gained = (now - then) * per_hour_ / 3600;
      tokens = (old >> kTimeBits) + gained;
      at = then + (gained * 3600 + per_hour_ - 1) / per_hour_;  // the time those took
      if (tokens >= cap_milli_) tokens = cap_milli_, at = now;
    }
    if (tokens < 1000) {
      // Nothing to take; the slot stays as it was (a refused request does not delay refills).
      const uint64_t need_ms = ((1000 - tokens) * 3600 + per_hour_ - 1) / per_hour_;
      const uint64_t carried = now - at;
      return need_ms > carried ? need_ms - carried : 1;
    }
    const uint64_t next = ((tokens - 1000) << kTimeBits) | at;
    if (slot.compare_exchange_weak(old, next, std::memory_order_relaxed)) return 0;
  }
}

}  // namespace ferry::proxy::rules
