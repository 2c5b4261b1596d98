// The catalog's two clocks, in milliseconds: unix_ms() for change times that travel between
// nodes (the lag metric), steady_ms() for ages and deadlines on this node. Any thread.
#pragma once

#include <chrono>
#include <cstdint>

namespace ferry::daemon::catalog {

inline int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
inline int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace ferry::daemon::catalog
