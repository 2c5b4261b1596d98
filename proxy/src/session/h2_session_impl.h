// Private to session/h2_connection.cpp and session/h2_stream.cpp: one downstream HTTP/2 connection and its
// streams. Worker thread only.
//
// Ownership: the Connection owns its streams and the nghttp2 session. The connection stays
// alive through shared_ptrs held by its read loop, its write loop and every running stream
// coroutine. A StreamState leaves the open streams once nghttp2 has closed the stream AND its
// coroutine has finished, whichever comes last; it is then kept for the connection's next
// stream (with the buffers it grew) until the connection has no stream open.
#pragma once

#include <nghttp2/nghttp2.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "http2/headers.h"
#include "net/asio_util.h"
#include "net/byte_queue.h"
#include "net/deadline.h"
#include "net/signal.h"
#include "request/downstream.h"
#include "session/h2_session.h"
#include "upstream/pool.h"
#include "worker/context.h"
#include "worker/request_scratch.h"

namespace ferry::proxy::http2 {

class Connection;

struct StreamState {
  StreamState(Connection& c, int32_t id);
  // Its stream is gone: back to the state of a new one (for the next `id`), keeping small
  // buffers; the upstream connection it still held is released.
  void recycle();
  Connection& c;
  int32_t id;
  size_t slot = 0;  // its index in Connection::streams_
  RequestFields req;
  bool req_end = false;       // END_STREAM received: the request body is complete
  bool discard = false;       // request DATA is no longer wanted: consumed as it arrives
  std::string req_body;       // received, not yet sent upstream (bounded by the stream window)

  ByteQueue resp_body;  // response bytes waiting for nghttp2 (about kResponseBuffer at most)
  bool resp_end = false;      // no more response bytes will come
  std::string resp_trailers;  // the upstream's chunked trailers ("name: value\r\n" lines)
  bool resp_submitted = false;

  bool closed = false;   // nghttp2 closed the stream (reset, or response done)
  bool running = false;  // the stream coroutine is active
  Signal wake;           // request data, end, drain of the response buffer, close
  Deadline dl;           // bounds the current step; cancels `up` and wakes the coroutine
  std::unique_ptr<UpstreamConn> up;
};

class Connection : public DownstreamConn, public std::enable_shared_from_this<Connection> {
 public:
  Connection(WorkerContext& w, Stream sock, std::shared_ptr<WorkerPlan> wp, std::string key, const PeerInfo& peer);
  ~Connection();
  // Sets up nghttp2, queues our SETTINGS, feeds `received` and starts the loops.
  static void start(std::shared_ptr<Connection> self, std::string_view received);

  // h2_stream.cpp: serves one request through the pipeline (request/pipeline.h).
  awaitable<void> serve_stream(std::shared_ptr<Connection> self, StreamState& s);

  // Wakes the writer to send what nghttp2 has queued. Safe inside nghttp2 callbacks.
  void kick();

  nghttp2_session* ng_ = nullptr;

 private:
  friend struct Callbacks;
  awaitable<void> read_loop(std::shared_ptr<Connection> self);
  // Feeds received bytes to nghttp2; a fatal error ends the input for good (GOAWAY or close).
  void receive(std::string_view data);
  awaitable<void> write_loop(std::shared_ptr<Connection> self);
  // No new streams from now on (GOAWAY with the last stream we took); closes when idle.
  void begin_shutdown();
  void finish_stream(StreamState& s);
  // After a stream left streams_: idle state, drain, shutdown.
  void stream_removed();
  void update_idle();
  void close_now();
  size_t active_streams() const;

  // A stream for `id`, spare or new, added to streams_.
  StreamState& open_stream(int32_t id);
  // Takes `s` out of streams_ and keeps it as a spare.
  void remove_stream(StreamState& s);

  std::vector<std::unique_ptr<StreamState>> streams_;  // open ones, in no order (StreamState::slot)
  std::vector<std::unique_ptr<StreamState>> spare_;    // finished ones, freed once none is open
  SessionHandle handle_;
  Deadline idle_dl_;   // keep-alive timeout while no stream is open
  bool idle_armed_ = false;  // idle_dl_ runs for the current stream-less period
  Deadline head_dl_;   // `timeout http-request` for a header block to complete
  Deadline write_dl_;  // `timeout client` for each write
  Signal write_wake_;  // kick(): the writer has frames to look for
  std::array<char, 16 * 1024> rbuf_;
  std::string out_;    // frames being written
  FieldBlock fields_;  // response heads are built here (relay_response, interim), then submitted
  bool writing_ = false;    // a write is in flight
  bool recv_dead_ = false;  // nghttp2 failed on input: no more of it is fed
  bool shutting_down_ = false;
  bool closed_ = false;

  friend struct StreamState;
  friend class StreamDownstream;
};

}  // namespace ferry::proxy::http2
