// Per-worker pool of idle keep-alive connections to upstream servers.
//
// Ownership: each Worker owns one UpstreamPool; connections taken from it are owned by the
// request that took them until returned with put() or dropped. Worker thread only (no locks).
#pragma once

#include <chrono>
#include <memory>
#include <unordered_map>
#include <vector>

#include "runtime/server_state.h"
#include "upstream/conn.h"

namespace ferry::proxy {

class UpstreamPool {
 public:
  // An idle connection to `server`, or nullptr. Most recently used first (keeps few
  // connections warm). Each candidate is checked with a non-blocking peek: one the server
  // closed while idle is dropped; a close racing with take() is handled by the caller's
  // retry rules.
  //
  // `retryable`: the caller retries a request that fails on a reused connection before any
  // response byte at no cost (an idempotent request with a replayable body). A connection
  // pooled less than kUncheckedReuse ago is then taken without the peek, one system call per
  // request less: a server closes an idle keep-alive connection after its keep-alive timeout
  // (seconds), not within milliseconds of a response that did not announce it, and the rare
  // one that does costs that request a retry. A server gains nothing from stray bytes
  // either: they would only answer the next request on its own connection, which it answers
  // anyway.
  static constexpr std::chrono::milliseconds kUncheckedReuse{50};
  std::unique_ptr<UpstreamConn> take(ServerState* server, bool retryable = false);
  // Returns a connection for reuse; closes it instead when the server already has
  // `max_idle` idle connections here, or when it is not poolable (an HTTP/2 stream: its
  // connection is shared and stays). It stays pooled at most `idle_timeout`.
  void put(std::unique_ptr<UpstreamConn> c, uint32_t max_idle, std::chrono::milliseconds idle_timeout);
  // Closes connections past their idle time. Worker tick.
  void sweep();
  void clear() { idle_.clear(); }

 private:
  std::unordered_map<ServerState*, std::vector<std::unique_ptr<UpstreamConn>>> idle_;
};

}  // namespace ferry::proxy
