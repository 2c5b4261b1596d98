// Per-worker pool of idle keep-alive connections to upstream servers.
//
// Ownership: each Worker owns one UpstreamPool; connections taken from it are owned by the
// request that took them until returned with put() or dropped. Worker thread only (no locks).
#pragma once

#include <chrono>
#include <memory>
#include <unordered_map>
#include <vector>

#include "net/asio_util.h"
#include "net/buffer.h"
#include "net/stream.h"
#include "runtime/server_state.h"

namespace ferry::proxy {

struct UpstreamConn {
  UpstreamConn(asio::any_io_executor ex, BlockPool* blocks) : sock(std::move(ex)), buf(BlockPool::kBlockSize, blocks) {}
  // A stream that is not a TCP connection of its own (an HTTP/2 stream: upstream/h2_upstream).
  UpstreamConn(asio::any_io_executor ex, BlockPool* blocks, std::unique_ptr<PipeEnd> pipe)
      : sock(std::move(ex), std::move(pipe)), buf(BlockPool::kBlockSize, blocks) {}
  Stream sock;
  Buffer buf;                             // response bytes read ahead; no memory while pooled
  std::shared_ptr<ServerState> server;    // pool key; keeps the state alive while pooled
  SteadyClock::time_point idle_until{};  // pooled: closed by sweep() after this
};

class UpstreamPool {
 public:
  // An idle connection to `server`, or nullptr. Most recently used first (keeps few
  // connections warm). Each candidate is checked with a non-blocking peek: one the server
  // closed while idle is dropped; a close racing with take() is handled by the caller's
  // retry rules.
  std::unique_ptr<UpstreamConn> take(ServerState* server);
  // Returns a connection for reuse; closes it instead when the server already has
  // `max_idle` idle connections here, or when it is a pipe (its HTTP/2 connection is shared
  // and stays). It stays pooled at most `idle_timeout`.
  void put(std::unique_ptr<UpstreamConn> c, uint32_t max_idle, std::chrono::milliseconds idle_timeout);
  // Closes connections past their idle time. Worker tick.
  void sweep();
  void clear() { idle_.clear(); }

 private:
  std::unordered_map<ServerState*, std::vector<std::unique_ptr<UpstreamConn>>> idle_;
};

}  // namespace ferry::proxy
