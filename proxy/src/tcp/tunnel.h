// Bidirectional byte splice between two connected sockets (TCP mode, WebSocket after 101).
// Half-close is forwarded: EOF from one side becomes shutdown(SHUT_WR) on the other, and the
// other direction keeps flowing. The tunnel ends when both directions ended, on any error
// (both sockets are then cancelled), or after `idle` with no byte in either direction.
// Worker thread coroutine; no exceptions.
#pragma once

#include <chrono>
#include <cstdint>

#include "net/asio_util.h"
#include "net/buffer.h"
#include "net/stream.h"

namespace ferry::proxy {

struct TunnelResult {
  uint64_t a_to_b = 0;  // bytes forwarded from a to b
  uint64_t b_to_a = 0;
  bool idle_timeout = false;
  bool error = false;   // a read or write failed (reset etc.)
};

// The idle limit of a tunnel: `timeout tunnel` may be set in the frontend and in the backend;
// the stricter (smaller non-zero) one applies. 0 = no limit.
std::chrono::milliseconds tunnel_idle_limit(std::chrono::milliseconds frontend, std::chrono::milliseconds backend);

// `a_pending` holds bytes already read from `a` that must reach `b` first, and vice versa.
awaitable<TunnelResult> run_tunnel(Stream& a, Buffer& a_pending, Stream& b, Buffer& b_pending,
                                   std::chrono::milliseconds idle);

}  // namespace ferry::proxy
