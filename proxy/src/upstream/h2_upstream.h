// HTTP/2 to upstream servers (`server ... proto h2` / `h2c`, and every mesh backhaul hop): per
// worker and server, a few multiplexed nghttp2 client connections. Each request gets one
// stream, the HTTP/2 implementation of upstream/conn.h: the neutral request head becomes
// HEADERS directly (RFC 9113 §8.3.1: Host becomes :authority, connection-specific fields are
// not sent), the body bytes DATA frames; response HEADERS become response heads directly
// (http2::to_response_head), the DATA is read raw through the stream's pipe, and trailers are
// kept for the relay (gRPC status reaches HTTP/2 clients, and HTTP/1.1 ones as chunked
// trailers). Nothing is serialised as HTTP/1.1 text or parsed again on this path.
//
// Ownership: each worker (worker/context.h) owns one H2Upstreams; it owns the connections;
// each stream's state is shared by its UpstreamConn (owned by the request) and its connection
// until the stream closes. Worker thread only.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "net/asio_util.h"
#include "runtime/server_state.h"
#include "upstream/pool.h"

namespace ferry::proxy {

class H2ClientConn;

class H2Upstreams {
 public:
  // `io` and `blocks`: the worker's loop and buffer blocks (only referenced here).
  H2Upstreams(asio::io_context& io, BlockPool& blocks) : io_(io), blocks_(blocks) {}
  ~H2Upstreams();

  // A new stream to `server` in `out`: on a connection with room for another stream, else on
  // a new connection (TCP connect within `timeout`; closed after `idle_timeout` without
  // streams). `reused`: on an existing connection. Errors: the connect error (`out` empty).
  // `tls`: the server's client context (`proto h2`; null for h2c), `name` what its certificate
  // must match and the SNI sent, `verify` whether it is checked.
  struct Target {
    std::shared_ptr<ServerState> server;
    tcp::endpoint ep;
    SSL_CTX* tls = nullptr;
    std::string name;
    bool verify = true;
  };
  awaitable<std::error_code> open(const Target& target, std::chrono::milliseconds timeout,
                                  std::chrono::milliseconds idle_timeout, std::unique_ptr<UpstreamConn>& out,
                                  bool& reused);
  // open() without waiting: a new stream on an established connection to `server` with room
  // for it (then `out` holds it). False: none has room; open() connects or waits.
  bool try_open(const std::shared_ptr<ServerState>& server, std::unique_ptr<UpstreamConn>& out);
  // An HTTP/2 PING on a connection to `target` (an open one, else a new one, connected within
  // `timeout`): the round-trip time, or nothing when no answer came within `timeout` (or the
  // connect failed). One PING at a time per connection; used by the mesh prober.
  awaitable<std::optional<std::chrono::microseconds>> ping(const Target& target, std::chrono::milliseconds timeout);
  // Closes every connection to `server` (its streams fail): a peer that stopped answering.
  void close_all(ServerState* server);
  // Closes connections idle past their idle timeout, and forgets dead ones. Worker tick.
  void sweep();
  // Closes every connection (drain, stop); streams in flight fail.
  void clear();

 private:
  void new_stream(std::shared_ptr<H2ClientConn> conn, const std::shared_ptr<ServerState>& server,
                  std::unique_ptr<UpstreamConn>& out);

  asio::io_context& io_;
  BlockPool& blocks_;
  std::unordered_map<ServerState*, std::vector<std::shared_ptr<H2ClientConn>>> conns_;
};

}  // namespace ferry::proxy
