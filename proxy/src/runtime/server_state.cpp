// ServerState: EWMA latency and passive ejection (see server_state.h).
#include "runtime/server_state.h"

#include <algorithm>

namespace ferry::proxy {

void ServerState::record_success(uint32_t latency_us) {
  consecutive_failures.store(0, std::memory_order_relaxed);
  ejections.store(0, std::memory_order_relaxed);
  // EWMA with alpha = 1/8: new = old + (sample - old) / 8. The first sample (old == 0) sets
  // it. A CAS loop keeps concurrent updates from different workers from losing each other.
  uint32_t old = ewma_latency_us.load(std::memory_order_relaxed);
  for (;;) {
    uint32_t next;
    if (old == 0) {
      next = latency_us;
    } else {
      int64_t diff = static_cast<int64_t>(latency_us) - static_cast<int64_t>(old);
      int64_t v = static_cast<int64_t>(old) + diff / 8;
      next = static_cast<uint32_t>(std::max<int64_t>(v, 1));
    }
    if (ewma_latency_us.compare_exchange_weak(old, next, std::memory_order_relaxed)) return;
  }
}

bool ServerState::record_failure(const config::PassiveHealth& p, int64_t now) {
  int run = consecutive_failures.fetch_add(1, std::memory_order_relaxed) + 1;
  if (p.consecutive_failures <= 0 || run < p.consecutive_failures) return false;
  // Only the caller that resets the run ejects (concurrent failures from several workers
  // must not eject twice, which would double the back-off).
  if (!consecutive_failures.compare_exchange_strong(run, 0, std::memory_order_relaxed)) return false;
  int prior = ejections.fetch_add(1, std::memory_order_relaxed);
  int64_t factor = int64_t{1} << std::min(std::max(prior, 0), 3);
  ejected_until_ms.store(now + p.eject_time.count() * factor, std::memory_order_relaxed);
  return true;
}

}  // namespace ferry::proxy
