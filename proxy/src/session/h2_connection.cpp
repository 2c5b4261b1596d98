// The HTTP/2 connection: nghttp2 session set-up, protective limits, the read and write loops,
// stream bookkeeping, idle timeout and graceful shutdown. Per-stream forwarding is in
// stream.cpp.
#include <cstring>

#include "http2/mem.h"
#include "http2/send_batch.h"
#include "log/log.h"
#include "session/h2_session_impl.h"

namespace ferry::proxy {

void start_http2_session(WorkerContext& w, Stream sock, std::shared_ptr<WorkerPlan> wp, std::string key,
                         const PeerInfo& peer, std::string_view received) {
  auto c = std::make_shared<http2::Connection>(w, std::move(sock), std::move(wp), std::move(key), peer);
  http2::Connection::start(std::move(c), received);
}

}  // namespace ferry::proxy

namespace ferry::proxy::http2 {
namespace {

// Request bytes a stream may have received but not yet forwarded. The connection window is
// given back on receipt (the stream windows bound the memory), so one stream waiting for a
// slow upstream or a budget slot never stalls the others' uploads.
constexpr int32_t kStreamWindow = 128 * 1024;
constexpr int32_t kConnectionWindow = 4 * 1024 * 1024;
constexpr auto kLingerTime = std::chrono::milliseconds(500);

Connection& conn(void* user_data) { return *static_cast<Connection*>(user_data); }

// Our state of stream `id` while it is open. (The id check: a StreamState is reused for
// later streams, so a pointer nghttp2 might still hold for a closed one must not reach it.)
StreamState* stream_of(nghttp2_session* ng, int32_t id) {
  auto* s = static_cast<StreamState*>(nghttp2_session_get_stream_user_data(ng, id));
  return s && s->id == id ? s : nullptr;
}

}  // namespace

StreamState::StreamState(Connection& c, int32_t id)
    : c(c), id(id), wake(c.w_.io().get_executor()), dl(c.w_.io().get_executor(), [this] {
        if (up) up->sock.cancel();
        wake.notify();
        // Finished here, but the client takes no more of the response (no window): give up.
        if (!running && !closed) {
          nghttp2_submit_rst_stream(this->c.ng_, NGHTTP2_FLAG_NONE, this->id, NGHTTP2_CANCEL);
          this->c.kick();
        }
      }) {}

void StreamState::recycle() {
  // What it holds goes now (an upstream connection closes at once, as before); a big request
  // body, header block or response buffer does not stay with the connection.
  constexpr size_t kKeep = 16 * 1024;
  up.reset();
  if (req.capacity() > kKeep) req = RequestFields();
  else req.clear();
  req_end = discard = false;
  if (req_body.capacity() > kKeep) std::string().swap(req_body);
  else req_body.clear();
  resp_body.clear(kKeep);
  resp_end = resp_submitted = closed = running = false;
  std::string().swap(resp_trailers);
  dl.disarm();
  wake.reset();
}

// The nghttp2 callbacks. They run inside nghttp2_session_mem_recv (read loop) or
// nghttp2_session_mem_send (write loop) on the worker thread; none may suspend or re-enter
// nghttp2's send/receive: kick() only wakes the writer, and stream coroutines start from a
// posted handler, after mem_recv returned.
struct Callbacks {
  static int begin_headers(nghttp2_session* ng, const nghttp2_frame* frame, void* ud) {
    Connection& c = conn(ud);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    // Streams whose coroutine still runs after a reset count too, so resetting streams does
    // not let a client start unbounded upstream work (rapid reset, CVE-2023-44487).
    if (c.streams_.size() >= 2 * static_cast<size_t>(c.fe_->cfg->limits.h2_max_streams)) {
      nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_REFUSED_STREAM);
      return 0;
    }
    StreamState& s = c.open_stream(frame->hd.stream_id);
    nghttp2_session_set_stream_user_data(ng, frame->hd.stream_id, &s);
    // The header block must be complete within `timeout http-request` (slowloris).
    c.head_dl_.arm(c.fe_->cfg->timeouts.http_request);
    // A drain covers this stream with its GOAWAY, so it is served (emplaced first: the
    // connection is not idle).
    if (c.w_.draining()) c.begin_shutdown();
    c.update_idle();
    return 0;
  }

  static int header(nghttp2_session* ng, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                    const uint8_t* value, size_t valuelen, uint8_t, void* ud) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;  // trailers: dropped
    StreamState* s = stream_of(ng, frame->hd.stream_id);
    if (!s) return 0;
    const auto& lim = conn(ud).fe_->cfg->limits;
    s->req.add({reinterpret_cast<const char*>(name), namelen}, {reinterpret_cast<const char*>(value), valuelen},
               lim.max_header_size, lim.max_headers);
    return 0;
  }

  static int frame_recv(nghttp2_session* ng, const nghttp2_frame* frame, void* ud) {
    Connection& c = conn(ud);
    StreamState* s = frame->hd.stream_id ? stream_of(ng, frame->hd.stream_id) : nullptr;
    if (!s) return 0;
    const bool end = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      c.head_dl_.disarm();
      s->req_end = end;
      s->running = true;
      // Started after mem_recv returned (asio's co_spawn would run it inline, inside nghttp2),
      // so DATA that came in the same read is already buffered when it looks.
      asio::post(c.w_.io(), [self = c.shared_from_this(), s] {
        asio::co_spawn(self->w_.io(), self->serve_stream(self, *s), [self](std::exception_ptr e) {
          if (e) log(config::LogLevel::error, "HTTP/2 stream ended with an exception");
        });
      });
      return 0;
    }
    if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) && end) {
      s->req_end = true;
      s->wake.notify();
    }
    return 0;
  }

  static int data_chunk(nghttp2_session* ng, uint8_t, int32_t id, const uint8_t* data, size_t len, void* ud) {
    StreamState* s = stream_of(ng, id);
    nghttp2_session_consume_connection(ng, len);
    if (!s || s->discard) {  // nobody reads it: the stream's window back too
      if (s) nghttp2_session_consume_stream(ng, id, len);
      conn(ud).kick();
      return 0;
    }
    s->req_body.append(reinterpret_cast<const char*>(data), len);
    s->wake.notify();
    conn(ud).kick();
    return 0;
  }

  static int frame_send(nghttp2_session* ng, const nghttp2_frame* frame, void*) {
    // Our response is complete while the client still sends its body: tell it to stop
    // (RFC 9113 §8.1), after the response, never before.
    if ((frame->hd.type != NGHTTP2_DATA && frame->hd.type != NGHTTP2_HEADERS) ||
        !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
      return 0;
    StreamState* s = stream_of(ng, frame->hd.stream_id);
    if (s && !s->req_end) nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
    return 0;
  }

  static int stream_close(nghttp2_session* ng, int32_t id, uint32_t, void* ud) {
    Connection& c = conn(ud);
    StreamState* sp = stream_of(ng, id);
    if (!sp) return 0;
    StreamState& s = *sp;
    s.closed = true;
    s.req_body.clear();  // the connection window had it back on receipt
    if (s.running) {
      // The coroutine notices at its next step; pending upstream I/O is cut short.
      if (s.up) s.up->sock.cancel();
      s.wake.notify();
      return 0;
    }
    c.remove_stream(s);
    c.stream_removed();
    return 0;
  }

};

Connection::Connection(WorkerContext& w, Stream sock, std::shared_ptr<WorkerPlan> wp, std::string key, const PeerInfo& peer)
    : DownstreamConn(w, std::move(sock), std::move(wp), std::move(key)),
      idle_dl_(w.io().get_executor(), [this] {
        // Keep-alive timeout with no stream open: GOAWAY, then close once it is written.
        if (!streams_.empty() || closed_) return;
        nghttp2_session_terminate_session(ng_, NGHTTP2_NO_ERROR);
        kick();
      }),
      head_dl_(w.io().get_executor(), [this] {
        // A header block left incomplete (HEADERS without its CONTINUATION).
        if (closed_) return;
        recv_dead_ = true;
        nghttp2_session_terminate_session(ng_, NGHTTP2_PROTOCOL_ERROR);
        kick();
      }),
      write_dl_(w.io().get_executor(), [this] { sock_.cancel(); }),
      write_wake_(w.io().get_executor()) {
  const auto& ref = wp_->plan->binds.at(key_);
  fe_ = &wp_->plan->frontends[ref.frontend];
  bind_ = ref.bind;
  peer_ = peer;
  if (sock_.is_tls()) tls_front_ = fe_->tls;
  client_ip_ = format_ip(&peer_.client);
  trusted_ = fe_->trusts(peer_.socket, peer_.client);
  handle_.stream = &sock_;
  // A drain reaches busy connections too: GOAWAY now, close after the last stream.
  handle_.owner = this;
  handle_.on_drain = [](void* c) { static_cast<Connection*>(c)->begin_shutdown(); };
  // A backhaul peer that a reload removed from every allowed-ips: GOAWAY (its streams in
  // flight finish; refresh_plan() refuses new ones), close after the last stream.
  if (fe_->cfg->backhaul) {
    handle_.backhaul_peer = &peer_.socket;
    handle_.listener = &key_;
    handle_.on_revoke = [](void* p) {
      auto* c = static_cast<Connection*>(p);
      c->revoked_ = true;
      c->begin_shutdown();
    };
  }
  w_.add_session(&handle_);
  w_.count_connection(1);
  fe_->stats->opened(w_.id());
}

Connection::~Connection() {
  streams_.clear();
  spare_.clear();
  if (ng_) nghttp2_session_del(ng_);
  fe_->stats->closed(w_.id());  // fe_ is in wp_->plan, still alive here
  w_.remove_session(&handle_);
  w_.count_connection(-1);
}

void Connection::start(std::shared_ptr<Connection> self, std::string_view received) {
  Connection& c = *self;
  nghttp2_session_callbacks* cb = nullptr;
  nghttp2_option* opt = nullptr;
  if (nghttp2_session_callbacks_new(&cb) != 0 || nghttp2_option_new(&opt) != 0) {
    if (cb) nghttp2_session_callbacks_del(cb);
    log(config::LogLevel::error, "HTTP/2: out of memory");
    return;
  }
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, Callbacks::begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cb, Callbacks::header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, Callbacks::frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, Callbacks::data_chunk);
  nghttp2_session_callbacks_set_on_frame_send_callback(cb, Callbacks::frame_send);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, Callbacks::stream_close);
  // Windows open only as request bytes reach the upstream (backpressure), not on receipt.
  nghttp2_option_set_no_auto_window_update(opt, 1);
  // Flood limits, explicit rather than relying on the library's defaults: RST_STREAM rate
  // (rapid reset: nghttp2 itself answers with GOAWAY INTERNAL_ERROR), CONTINUATION frames per
  // header block and entries per SETTINGS frame (mem_recv fails; we send GOAWAY
  // ENHANCE_YOUR_CALM), queued PING/SETTINGS acknowledgements (NGHTTP2_ERR_FLOODED: closed).
  nghttp2_option_set_stream_reset_rate_limit(opt, 1000, 33);
  nghttp2_option_set_max_continuations(opt, 8);
  nghttp2_option_set_max_settings(opt, 32);
  nghttp2_option_set_max_outbound_ack(opt, 1000);
  int rv = nghttp2_session_server_new3(&c.ng_, cb, &c, opt, cached_mem());
  nghttp2_session_callbacks_del(cb);
  nghttp2_option_del(opt);
  if (rv != 0) {
    log(config::LogLevel::error, std::string("HTTP/2: cannot create a session: ") + nghttp2_strerror(rv));
    return;
  }
  const auto& lim = c.fe_->cfg->limits;
  nghttp2_settings_entry iv[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, lim.h2_max_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, lim.max_header_size},
      // RFC 9218 §2.1: no RFC 7540 priority tree (deprecated by RFC 9113 §5.3.2). nghttp2 then
      // keeps no closed streams for it and schedules by urgency, which costs less per frame.
      {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
  };
  nghttp2_submit_settings(c.ng_, NGHTTP2_FLAG_NONE, iv, std::size(iv));
  nghttp2_session_set_local_window_size(c.ng_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
  c.update_idle();
  if (!received.empty()) c.receive(received);
  asio::co_spawn(c.w_.io(), c.write_loop(self), [self](std::exception_ptr e) {
    if (e) log(config::LogLevel::error, "HTTP/2 connection writer ended with an exception");
  });
  asio::co_spawn(c.w_.io(), c.read_loop(self), [self](std::exception_ptr e) {
    if (e) log(config::LogLevel::error, "HTTP/2 connection ended with an exception");
  });
}

void Connection::receive(std::string_view data) {
  if (recv_dead_ || closed_) return;  // after a fatal error nghttp2 must not see more input
  ssize_t rv = nghttp2_session_mem_recv(ng_, reinterpret_cast<const uint8_t*>(data.data()), data.size());
  if (rv >= 0) {
    kick();
    return;
  }
  log(config::LogLevel::debug, "HTTP/2 from " + client_ip_ + ": " + nghttp2_strerror(static_cast<int>(rv)));
  recv_dead_ = true;
  // A peer that does not read what it provokes, or no HTTP/2 preface: closed at once.
  // Other failures: GOAWAY with the fitting code (nghttp2 may have queued one already).
  if (rv == NGHTTP2_ERR_FLOODED || rv == NGHTTP2_ERR_BAD_CLIENT_MAGIC) {
    close_now();
    return;
  }
  uint32_t code = rv == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS || rv == NGHTTP2_ERR_TOO_MANY_SETTINGS ? NGHTTP2_ENHANCE_YOUR_CALM
                  : rv == NGHTTP2_ERR_CALLBACK_FAILURE                                           ? NGHTTP2_INTERNAL_ERROR
                                                                                                 : NGHTTP2_PROTOCOL_ERROR;
  nghttp2_session_terminate_session(ng_, code);
  kick();
}

void Connection::update_idle() {
  if (closed_) return;
  handle_.idle = streams_.empty() && !writing_;
  // Idle = no open stream. The keep-alive clock starts when the last stream goes (or at the
  // start) and nothing else moves it: PING, SETTINGS or WINDOW_UPDATE frames and our writes
  // of their answers do not keep a connection open.
  if (!streams_.empty()) {
    idle_dl_.disarm();
    idle_armed_ = false;
  } else if (!idle_armed_) {
    idle_dl_.arm(fe_->cfg->timeouts.http_keep_alive);
    idle_armed_ = true;
    spare_.clear();  // an idle connection keeps no stream state
  }
}

void Connection::begin_shutdown() {
  if (shutting_down_ || closed_) return;
  shutting_down_ = true;
  nghttp2_submit_goaway(ng_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(ng_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
  if (streams_.empty()) nghttp2_session_terminate_session(ng_, NGHTTP2_NO_ERROR);
  kick();
}

void Connection::finish_stream(StreamState& s) {
  s.running = false;
  if (w_.io().stopped()) return;  // the worker is being torn down: no more frames
  if (!s.closed) {
    if (!s.resp_submitted) {
      // The coroutine ended without a response (e.g. the connection failed): reset the
      // stream so nghttp2 releases it.
      nghttp2_submit_rst_stream(ng_, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_INTERNAL_ERROR);
    } else {
      // The rest of the response is queued: the client must take it within `timeout client`.
      s.dl.arm(fe_->cfg->timeouts.client);
    }
    s.discard = true;
    if (!s.req_body.empty()) nghttp2_session_consume_stream(ng_, s.id, s.req_body.size());
    s.req_body.clear();
    kick();
    return;  // erased by the stream-close callback
  }
  remove_stream(s);
  stream_removed();
}

StreamState& Connection::open_stream(int32_t id) {
  std::unique_ptr<StreamState> s;
  if (spare_.empty()) {
    s = std::make_unique<StreamState>(*this, id);
  } else {
    s = std::move(spare_.back());
    spare_.pop_back();
    s->id = id;
  }
  s->slot = streams_.size();
  streams_.push_back(std::move(s));
  return *streams_.back();
}

void Connection::remove_stream(StreamState& s) {
  // The last one takes its slot.
  const size_t slot = s.slot;
  std::unique_ptr<StreamState> gone = std::move(streams_[slot]);
  if (slot + 1 != streams_.size()) {
    streams_[slot] = std::move(streams_.back());
    streams_[slot]->slot = slot;
  }
  streams_.pop_back();
  gone->recycle();
  spare_.push_back(std::move(gone));
}

void Connection::stream_removed() {
  update_idle();
  // A drain began while streams were open (the worker only cancels idle connections):
  // GOAWAY now, and the end of the connection with its last stream.
  if (w_.draining()) begin_shutdown();
  if (shutting_down_ && streams_.empty()) {
    nghttp2_session_terminate_session(ng_, NGHTTP2_NO_ERROR);
    kick();
  }
}

void Connection::kick() { write_wake_.notify(); }

void Connection::close_now() {
  if (closed_) return;
  closed_ = true;
  idle_dl_.disarm();
  head_dl_.disarm();
  handle_.idle = true;
  // A TCP half-close, so the GOAWAY we just wrote is not destroyed by a reset; the read
  // loop then discards what still arrives for a moment and closes the socket.
  std::error_code ignored;
  sock_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  sock_.cancel();
  write_wake_.notify();
  for (auto& s : streams_) {
    s->closed = true;
    if (s->up) s->up->sock.cancel();
    s->wake.notify();
  }
}

awaitable<void> Connection::write_loop(std::shared_ptr<Connection> self) {
  // One writer for the connection's life: frames queued by any number of callbacks and
  // streams in one loop turn go out in one write.
  while (!closed_) {
    out_.clear();
    if (int rv = gather_frames(ng_, out_); rv != 0) {
      log(config::LogLevel::debug, std::string("HTTP/2 send: ") + nghttp2_strerror(rv));
      close_now();
    }
    if (closed_) break;
    if (out_.empty()) {
      if (!nghttp2_session_want_read(ng_) && !nghttp2_session_want_write(ng_)) {
        close_now();  // GOAWAY sent and nothing left: the end
        break;
      }
      if (streams_.empty()) std::string().swap(out_);  // an idle connection holds no buffer
      co_await write_wake_.wait();
      continue;
    }
    // Usually the socket (or TLS) takes it all at once: no write operation, no suspension.
    std::error_code ec;
    const size_t n = sock_.write_now(asio::buffer(out_), ec);
    if (ec == asio::error::would_block) {
      writing_ = true;
      handle_.idle = false;
      write_dl_.arm(fe_->cfg->timeouts.client);
      std::tie(ec, std::ignore) = co_await asio::async_write(sock_, asio::buffer(out_) + n, use_nothrow);
      write_dl_.disarm();
      writing_ = false;
      update_idle();
    }
    if (ec) close_now();
  }
}

awaitable<void> Connection::read_loop(std::shared_ptr<Connection> self) {
  Deadline linger(w_.io().get_executor(), [this] { sock_.cancel(); });
  bool lingering = false;
  for (;;) {
    if (closed_ && !lingering) {
      lingering = true;
      linger.arm(kLingerTime);
    }
    auto [ec, n] = co_await sock_.async_read_some(asio::buffer(rbuf_), use_nothrow);
    if (lingering) {
      if (ec || n == 0 || linger.expired()) break;
      continue;  // discarded
    }
    if (closed_) continue;  // closed while this read was pending: linger now
    if (ec || n == 0) {
      close_now();
      continue;
    }
    receive(std::string_view(rbuf_.data(), n));
  }
  sock_.close();
}

}  // namespace ferry::proxy::http2
