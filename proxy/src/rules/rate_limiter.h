// The token buckets of one `rate-limit` rule, shared by every worker thread: a fixed table of
// 64-bit atomic slots, each a bucket (milli-tokens and the time of its last refill), taken
// with a compare-and-swap, so no lock and no allocation per request.
//
// Keys (a client address, a header value, the app) are hashed with a per-process random seed
// into `slots` buckets; two keys that share a slot share its tokens (the limit is stricter
// for both, never looser). 16384 slots take 128 KiB.
//
// Ownership: the RuntimeRegistry keeps a limiter while its rule (section, position, rate,
// burst, key) stays the same across reloads; plans hold shared_ptrs. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

namespace ferry::proxy::rules {

class RateLimiter {
 public:
  // `per_hour` > 0 tokens refill each hour (evenly, to the millisecond), up to `burst`
  // (1..100000); `now_ms` is the clock take() will be given (times are kept relative to it).
  RateLimiter(uint64_t per_hour, uint32_t burst, uint64_t now_ms, size_t slots = 16384);

  // Takes one token from `key`'s bucket at `now_ms` (a monotonic clock in milliseconds).
  // Returns 0 when taken, else how many milliseconds until a token will be there (>= 1).
  uint64_t take(uint64_t key, uint64_t now_ms);

  // A key's hash with this process's seed (FNV-1a over the bytes, then mixed).
  static uint64_t hash(std::string_view bytes);

 private:
  const uint64_t per_hour_;    // milli-tokens per 3600 ms: integer arithmetic, no drift
  const uint64_t cap_milli_;   // burst in milli-tokens
  const uint64_t fill_ms_;     // from empty to full
  const size_t mask_;
  std::unique_ptr<std::atomic<uint64_t>[]> slots_;
  const uint64_t epoch_ms_;    // slots keep times relative to this (0 = never used)
};

}  // namespace ferry::proxy::rules
