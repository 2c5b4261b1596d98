// Gathering what an nghttp2 session wants to send into one buffer, for one socket write.
// Shared by the downstream (http2/session) and upstream (upstream/h2_upstream) connections.
// Worker thread; never called from inside an nghttp2 callback.
#pragma once

#include <nghttp2/nghttp2.h>

#include <string>

namespace ferry::proxy::http2 {

inline constexpr size_t kWriteBatch = 64 * 1024;  // frames gathered into one write

// Appends frames from nghttp2_session_mem_send to `out` until nothing is left or `out` holds
// kWriteBatch bytes. Returns 0, or nghttp2's (fatal) error code; then the session is unusable.
inline int gather_frames(nghttp2_session* ng, std::string& out) {
  while (out.size() < kWriteBatch) {
    const uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(ng, &data);
    if (n < 0) return static_cast<int>(n);
    if (n == 0) break;
    out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
  return 0;
}

}  // namespace ferry::proxy::http2
