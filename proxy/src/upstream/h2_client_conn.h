// Internal to upstream/: one HTTP/2 client connection to a server (H2ClientConn) and the
// state of one request's stream on it (H2PipeState), shared by h2_client_conn.cpp (the
// connection: connect, TLS, read/write loops, nghttp2 callbacks, PING, close, HEADERS) and
// h2_upstream.cpp (the streams as UpstreamConns, and the per-worker set of connections).
//
// Ownership: H2Upstreams owns the connections; a stream's state is shared by its UpstreamConn
// and, while the stream is open, its connection. Worker thread only.
#pragma once

#include <nghttp2/nghttp2.h>

#include <array>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <string>

#include "http/outbound.h"
#include "http2/headers.h"
#include "net/byte_queue.h"
#include "net/signal.h"
#include "net/stream.h"
#include "upstream/h2_upstream.h"

namespace ferry::proxy {

inline constexpr size_t kH2PipeBuffer = 64 * 1024;  // request bytes queued before a write waits

// One request's stream. The request head becomes HEADERS straight from the neutral head
// (http/outbound.h), and the body bytes written to the pipe DATA frames; response heads are
// kept as fields for read_head, the DATA that follows is read raw through the pipe, and the
// trailers are kept as lines.
struct H2PipeState {
  explicit H2PipeState(asio::any_io_executor ex) : head_wake(std::move(ex)) {}
  std::shared_ptr<H2ClientConn> conn;  // until the pipe lets go (never null while it exists)
  int32_t id = -1;
  bool sent = false;  // our HEADERS left: the server may have processed the request
  bool closed = false;

  // Request body: raw bytes for DATA frames, counted against a content-length.
  http::Framing framing = http::Framing::none;
  uint64_t remaining = 0;
  ByteQueue req_buf;
  bool req_end = false;
  PipeEnd::Handler pending_write;
  size_t pending_write_n = 0;

  // Response.
  struct Head {
    http2::FieldList fields;
    bool end = false;  // END_STREAM came with it
  };
  std::deque<Head> heads;    // received, not read yet (interim ones, then the final one)
  Head current;              // the head read last: the caller's ResponseHead points into it
  bool final_seen = false;   // a non-1xx head arrived: the next HEADERS are trailers
  http2::FieldList fields;   // of the HEADERS being received
  std::string trailers;      // "name: value\r\n" lines
  Signal head_wake;          // a head arrived, the stream closed, or the reader was cancelled
  bool cancelled = false;    // the pipe was cancelled (deadline, client gone): read_head ends
  ByteQueue resp;            // DATA bytes not read yet
  bool eof = false;          // the response is complete
  std::error_code error;     // the stream failed before its end
  size_t unconsumed = 0;     // DATA bytes not yet given back to the windows
  PipeEnd::Handler pending_read;
  asio::mutable_buffer read_buf;
};

class H2ClientConn : public std::enable_shared_from_this<H2ClientConn> {
 public:
  H2ClientConn(asio::io_context& io, std::shared_ptr<ServerState> server, std::chrono::milliseconds idle_timeout)
      : io_(io),
        server_(std::move(server)),
        idle_timeout_(idle_timeout),
        sock_(io.get_executor()),
        write_wake_(io.get_executor()),
        connected_(io.get_executor()) {
    connected_.expires_at(SteadyClock::time_point::max());
  }
  ~H2ClientConn() {
    if (ng_) nghttp2_session_del(ng_);
  }

  awaitable<std::error_code> connect(const H2Upstreams::Target& t, std::chrono::milliseconds timeout);
  bool has_room() const {
    if (closed_) return false;
    if (connecting_) return waiting_ < kStreamsWhileConnecting;
    return ng_ && nghttp2_session_check_request_allowed(ng_) &&
           streams_.size() < nghttp2_session_get_remote_settings(ng_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  }
  // Requests that found this connection still connecting wait for it (one connect serves a
  // burst). False: the connect failed.
  awaitable<bool> wait_connected() {
    ++waiting_;
    if (connecting_) co_await connected_.async_wait(use_nothrow);
    --waiting_;
    co_return !closed_;
  }
  bool connecting() const { return connecting_; }
  bool goaway() const { return goaway_; }
  bool closed() const { return closed_; }
  bool idle_expired() const {
    return !connecting_ && streams_.empty() && SteadyClock::now() - last_used_ > idle_timeout_;
  }
  void close();
  void kick();
  // See H2Upstreams::ping. Needs a connected session.
  awaitable<std::optional<std::chrono::microseconds>> ping(std::chrono::milliseconds timeout);

  // PipeEnd operations (pipe.cpp-style, here for access to the session).
  void write(const std::shared_ptr<H2PipeState>& st, asio::const_buffer b, PipeEnd::Handler h);
  void read(const std::shared_ptr<H2PipeState>& st, asio::mutable_buffer b, PipeEnd::Handler h);
  void cancel(H2PipeState& st);
  void release(H2PipeState& st);  // the pipe is gone: reset the stream if still open
  void give_back(H2PipeState& st);  // window updates for the DATA bytes taken so far

  asio::io_context& io_;  // the worker's loop

 private:
  friend struct ClientCallbacks;
  friend class H2StreamUpstream;
  awaitable<void> read_loop(std::shared_ptr<H2ClientConn> self);
  awaitable<std::error_code> start_tls(const H2Upstreams::Target& t, std::chrono::milliseconds timeout);
  awaitable<void> write_loop(std::shared_ptr<H2ClientConn> self);
  // HEADERS for the stream (and the body bytes that are here). False: nghttp2 refused it.
  bool submit(const std::shared_ptr<H2PipeState>& st, const http::OutboundRequest& head,
              std::span<const http::Header> extra, std::string_view body, bool whole);
  void end_body(H2PipeState& st);
  void deliver(H2PipeState& st);  // completes a pending read if bytes (or the end) are there
  void post(PipeEnd::Handler h, std::error_code ec, size_t n);
  void finish(H2PipeState& st, std::error_code ec);

  std::shared_ptr<ServerState> server_;
  std::chrono::milliseconds idle_timeout_;
  Stream sock_;
  nghttp2_session* ng_ = nullptr;
  std::map<int32_t, std::shared_ptr<H2PipeState>> streams_;
  std::array<char, 16 * 1024> rbuf_;
  std::string out_;
  http2::FieldBlock fields_;  // request heads are built here (submit), then submitted
  Signal write_wake_;  // kick(): frames to send (never runs the writer inline)
  asio::steady_timer connected_;  // cancelled when the connect finished: wakes every waiter
  static constexpr size_t kStreamsWhileConnecting = 100;  // the default SETTINGS_MAX_CONCURRENT_STREAMS
  bool connecting_ = true;
  size_t waiting_ = 0;
  bool goaway_ = false;  // the server sent GOAWAY: no new streams; closed when the last ends
  int32_t goaway_last_ = 0;
  bool closed_ = false;
  SteadyClock::time_point last_used_ = SteadyClock::now();
  asio::steady_timer* ping_timer_ = nullptr;  // the pending ping()'s, cancelled by its ACK
  uint64_t ping_seq_ = 0;
  bool ping_acked_ = false;
};

}  // namespace ferry::proxy
