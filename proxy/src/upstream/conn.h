// One request's way to a server, whatever the protocol: an HTTP/1 connection of its own
// (upstream/http1_conn.h, pooled between requests) or a stream on a shared HTTP/2 connection
// (upstream/h2_upstream.h). The exchange sends the request head through it and reads the
// response heads from it; the request body streams into `sock`, and the response body (or a
// tunnel) is read from `sock` and `buf`: for HTTP/2 the stream's DATA, raw, ending with the
// stream (its head says Framing::until_close when it stated no length).
//
// Ownership: the request that took it (its session's upstream slot), or the pool while idle.
// Worker thread only; coroutines never throw, errors are results.
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "http/message.h"
#include "http/outbound.h"
#include "net/asio_util.h"
#include "net/buffer.h"
#include "net/deadline.h"
#include "net/stream.h"
#include "runtime/server_state.h"

namespace ferry::proxy {

// What reading a response head came to.
struct HeadRead {
  enum class Status {
    complete,  // `resp` holds it (its views live until the next read_head or the body's end)
    invalid,   // not a valid response: 502
    closed,    // the connection or stream ended (or was reset) first
    timeout,   // the deadline expired
  };
  Status status = Status::closed;
  bool got_bytes = false;  // some of a response arrived (then it is no clean close)
  bool refused = false;    // closed: the server refused the stream unprocessed (RFC 9113 §8.7)
};

class UpstreamConn {
 public:
  virtual ~UpstreamConn() = default;

  // Sends `head`, then the `extra` fields (backhaul metadata, Ferry-Replay-Src), then `body`:
  // the body bytes that are here, raw. `whole`: they are the whole body (nothing streams
  // after; a chunked head's body is then coded here). Errors: the write's;
  // asio::error::connection_refused when an HTTP/2 server refused the stream unprocessed.
  virtual awaitable<std::error_code> send_head(const http::OutboundRequest& head, std::span<const http::Header> extra,
                                               std::string_view body, bool whole) = 0;
  // send_head() without waiting, for the common case of a socket that takes it all at once:
  // true when it is decided (`ec`: the write's error, or none: all sent); false when the
  // caller must co_await send_head() with the same arguments, which sends what is left.
  virtual bool poll_send_head(const http::OutboundRequest&, std::span<const http::Header>, std::string_view, bool,
                              std::error_code&) {
    return false;
  }
  // Whether a streamed chunked body is written to `sock` chunk-coded (HTTP/1.1). False: raw
  // bytes, which the protocol frames (HTTP/2 DATA); the streamer then calls end_body().
  virtual bool chunked_on_wire() const = 0;
  // The streamed body is complete (HTTP/2: END_STREAM). No-op for HTTP/1, whose framing ends
  // the body.
  virtual void end_body() {}
  // Reads the next response head (1xx included) into `resp`, re-arming `dl` with `timeout`
  // before each wait. An HTTP/1 head stays in `buf` (resp.head_size bytes to consume).
  virtual awaitable<HeadRead> read_head(http::ResponseHead& resp, std::string_view method, Deadline& dl,
                                        std::chrono::milliseconds timeout) = 0;
  // Trailer fields that ended the response ("name: value\r\n" lines; HTTP/2), or null when
  // the protocol carries them in the body bytes (HTTP/1 chunked). Valid while this lives.
  virtual const std::string* trailers() const { return nullptr; }
  // Whether it may serve another request once this response is read in full.
  virtual bool poolable() const = 0;

  Stream sock;
  Buffer buf;                            // response bytes read ahead; no memory while pooled
  std::shared_ptr<ServerState> server;   // pool key; keeps the state alive while pooled
  SteadyClock::time_point pooled_at{};   // pooled: since when
  SteadyClock::time_point idle_until{};  // pooled: closed by sweep() after this

 protected:
  UpstreamConn(Stream s, BlockPool* blocks) : sock(std::move(s)), buf(BlockPool::kBlockSize, blocks) {}
};

}  // namespace ferry::proxy
