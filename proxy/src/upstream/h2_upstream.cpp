#include "upstream/h2_upstream.h"

#include <nghttp2/nghttp2.h>

#include <array>
#include <cstring>
#include <map>

#include "http/fields.h"
#include "http/message.h"
#include "http1/chunked.h"
#include "http1/request_parser.h"
#include "http2/send_batch.h"
#include "log.h"
#include "net/byte_queue.h"
#include "net/connect.h"
#include "net/deadline.h"
#include "net/signal.h"
#include "tls/client_context.h"
#include "tls/server_context.h"
#include "worker.h"

namespace ferry::proxy {
namespace {

constexpr int32_t kStreamWindow = 256 * 1024;
constexpr int32_t kConnectionWindow = 4 * 1024 * 1024;
constexpr size_t kPipeBuffer = 64 * 1024;  // request bytes queued before a write waits

nghttp2_nv make_nv(std::string_view n, std::string_view v) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(n.data())), reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())),
          n.size(), v.size(), NGHTTP2_NV_FLAG_NONE};
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return out;
}

}  // namespace

// One request's stream: the HTTP/1.1 bytes the exchange writes are turned into frames, and
// the frames that come back into HTTP/1.1 bytes for it to read.
struct H2PipeState {
  std::shared_ptr<H2ClientConn> conn;  // until the pipe lets go (never null while it exists)
  int32_t id = -1;
  bool sent = false;  // our HEADERS left: the server may have processed the request
  bool closed = false;

  // Request: head, then body (Content-Length raw or chunked), as the exchange writes them.
  std::string head;
  bool head_done = false;
  http::Framing framing = http::Framing::none;
  uint64_t remaining = 0;
  http1::ChunkedDecoder dec;
  ByteQueue req_buf;  // body bytes for DATA frames
  bool req_end = false;
  PipeEnd::Handler pending_write;
  size_t pending_write_n = 0;

  // Response as HTTP/1.1 bytes.
  ByteQueue resp;
  bool chunked = false;    // the body is being re-framed as chunked
  bool eof = false;        // the response is complete
  std::error_code error;   // the stream failed before its end
  std::vector<std::pair<std::string, std::string>> fields;  // of the HEADERS being received
  size_t unconsumed = 0;   // DATA bytes not yet given back to the windows
  PipeEnd::Handler pending_read;
  asio::mutable_buffer read_buf;
};

class H2ClientConn : public std::enable_shared_from_this<H2ClientConn> {
 public:
  H2ClientConn(Worker& w, std::shared_ptr<ServerState> server, std::chrono::milliseconds idle_timeout)
      : w_(w),
        server_(std::move(server)),
        idle_timeout_(idle_timeout),
        sock_(w.io().get_executor()),
        write_wake_(w.io().get_executor()),
        connected_(w.io().get_executor()) {
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

  Worker& w_;

 private:
  friend struct ClientCallbacks;
  awaitable<void> read_loop(std::shared_ptr<H2ClientConn> self);
  awaitable<std::error_code> start_tls(const H2Upstreams::Target& t, std::chrono::milliseconds timeout);
  awaitable<void> write_loop(std::shared_ptr<H2ClientConn> self);
  bool submit(const std::shared_ptr<H2PipeState>& st);
  void feed_body(H2PipeState& st, std::string_view data);
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

namespace {

// The PipeEnd of one stream. Its state keeps the connection alive until the pipe is gone, so
// the rest of a response can still be read after the stream (or the connection) closed.
class H2Pipe final : public PipeEnd {
 public:
  explicit H2Pipe(std::shared_ptr<H2PipeState> st) : st_(std::move(st)) {}
  ~H2Pipe() override { st_->conn->release(*st_); }
  void read_some(asio::mutable_buffer b, Handler h) override { st_->conn->read(st_, b, std::move(h)); }
  void write_some(asio::const_buffer b, Handler h) override { st_->conn->write(st_, b, std::move(h)); }
  void cancel() override { st_->conn->cancel(*st_); }

 private:
  std::shared_ptr<H2PipeState> st_;
};

}  // namespace

void H2ClientConn::post(PipeEnd::Handler h, std::error_code ec, size_t n) {
  asio::post(w_.io(), [h = std::move(h), ec, n] { h(ec, n); });
}

// The nghttp2 client callbacks; they run inside mem_recv/mem_send on the worker thread.
struct ClientCallbacks {
  static H2PipeState* state(nghttp2_session* ng, int32_t id) {
    return static_cast<H2PipeState*>(nghttp2_session_get_stream_user_data(ng, id));
  }

  static int header(nghttp2_session* ng, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                    const uint8_t* value, size_t valuelen, uint8_t, void*) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    H2PipeState* st = state(ng, frame->hd.stream_id);
    if (!st) return 0;
    if (st->fields.size() >= 1000) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // resets the stream
    st->fields.emplace_back(std::string(reinterpret_cast<const char*>(name), namelen),
                            std::string(reinterpret_cast<const char*>(value), valuelen));
    return 0;
  }

  static int frame_recv(nghttp2_session* ng, const nghttp2_frame* frame, void* ud) {
    auto& c = *static_cast<H2ClientConn*>(ud);
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      // No new streams here (nghttp2 refuses them; streams above the last id close with
      // REFUSED_STREAM and are retried elsewhere); closed once the last stream ends.
      c.goaway_ = true;
      c.goaway_last_ = frame->goaway.last_stream_id;
      if (c.streams_.empty()) c.kick();
      return 0;
    }
    if (frame->hd.type == NGHTTP2_PING && (frame->hd.flags & NGHTTP2_FLAG_ACK)) {
      uint64_t seq = 0;
      std::memcpy(&seq, frame->ping.opaque_data, sizeof seq);
      if (c.ping_timer_ && seq == c.ping_seq_) {
        c.ping_acked_ = true;
        c.last_used_ = SteadyClock::now();  // a live connection: not idle for the sweep
        c.ping_timer_->cancel();
      }
      return 0;
    }
    H2PipeState* st = frame->hd.stream_id ? state(ng, frame->hd.stream_id) : nullptr;
    if (!st) return 0;
    const bool end = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
    if (frame->hd.type == NGHTTP2_HEADERS) {
      if (frame->headers.cat == NGHTTP2_HCAT_RESPONSE || (frame->headers.cat == NGHTTP2_HCAT_HEADERS && !end)) {
        // A response head (interim 1xx heads arrive as further HEADERS without END_STREAM).
        std::string status = "502";
        std::string lines;
        bool has_length = false;
        for (auto& [n, v] : st->fields) {
          if (n == ":status") status = v;
          if (n.empty() || n[0] == ':') continue;
          if (n == "content-length") has_length = true;
          lines += n;
          lines += ": ";
          lines += v;
          lines += "\r\n";
        }
        st->fields.clear();
        st->resp.writable() += "HTTP/1.1 " + status + " \r\n";
        st->resp.writable() += lines;
        const bool interim = status.size() == 3 && status[0] == '1';
        if (!interim && !end && !has_length) {
          st->resp.writable() += "Transfer-Encoding: chunked\r\n";
          st->chunked = true;
        } else if (!interim && end && !has_length && status != "204" && status != "304") {
          st->resp.writable() += "Content-Length: 0\r\n";
        }
        st->resp.writable() += "\r\n";
        if (end) st->eof = true;
      } else if (end) {
        // Trailers: chunked trailers when the body was chunked (else dropped: a Content-Length
        // body has nowhere to carry them in HTTP/1.1).
        if (st->chunked) {
          st->resp.writable() += "0\r\n";
          for (auto& [n, v] : st->fields) {
            if (n.empty() || n[0] == ':') continue;
            st->resp.writable() += n + ": " + v + "\r\n";
          }
          st->resp.writable() += "\r\n";
          st->chunked = false;
        }
        st->fields.clear();
        st->eof = true;
      }
      c.deliver(*st);
      return 0;
    }
    if (frame->hd.type == NGHTTP2_DATA && end) {
      if (st->chunked) st->resp.writable() += "0\r\n\r\n";
      st->chunked = false;
      st->eof = true;
      c.deliver(*st);
    }
    return 0;
  }

  static int data_chunk(nghttp2_session* ng, uint8_t, int32_t id, const uint8_t* data, size_t len, void* ud) {
    auto& c = *static_cast<H2ClientConn*>(ud);
    H2PipeState* st = state(ng, id);
    if (!st) {  // a stream we let go of: its bytes are nobody's, the windows get them back
      nghttp2_session_consume_connection(ng, len);
      nghttp2_session_consume_stream(ng, id, len);
      return 0;
    }
    if (st->chunked) http1::append_chunk_header(st->resp.writable(), len);
    st->resp.append({reinterpret_cast<const char*>(data), len});
    if (st->chunked) st->resp.writable() += "\r\n";
    st->unconsumed += len;
    c.deliver(*st);
    return 0;
  }

  static int stream_close(nghttp2_session*, int32_t id, uint32_t code, void* ud) {
    auto& c = *static_cast<H2ClientConn*>(ud);
    auto it = c.streams_.find(id);
    if (it == c.streams_.end()) return 0;
    auto st = it->second;
    c.streams_.erase(it);
    c.last_used_ = SteadyClock::now();
    if (c.goaway_ && c.streams_.empty()) c.kick();  // the writer closes the connection
    c.finish(*st, st->eof ? std::error_code() : code == NGHTTP2_REFUSED_STREAM ? asio::error::connection_refused
                                                                             : asio::error::connection_reset);
    return 0;
  }

  static int frame_send(nghttp2_session* ng, const nghttp2_frame* frame, void*) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    if (H2PipeState* st = state(ng, frame->hd.stream_id)) st->sent = true;
    return 0;
  }

  static ssize_t read_body(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                           nghttp2_data_source* source, void* ud) {
    auto& c = *static_cast<H2ClientConn*>(ud);
    auto& st = *static_cast<H2PipeState*>(source->ptr);
    size_t n = st.req_buf.take(buf, length);
    if (st.pending_write && st.req_buf.size() < kPipeBuffer)
      c.post(std::move(st.pending_write), {}, std::exchange(st.pending_write_n, 0));
    if (st.req_end && st.req_buf.empty()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    else if (n == 0) return NGHTTP2_ERR_DEFERRED;
    return static_cast<ssize_t>(n);
  }
};

awaitable<std::error_code> H2ClientConn::connect(const H2Upstreams::Target& t, std::chrono::milliseconds timeout) {
  auto ec = co_await connect_with_timeout(sock_.socket(), t.ep, timeout);
  if (!ec && t.tls) ec = co_await start_tls(t, timeout);
  connecting_ = false;
  connected_.cancel();
  if (ec) {
    closed_ = true;
    sock_.close();
    co_return ec;
  }
  nghttp2_session_callbacks* cb = nullptr;
  if (nghttp2_session_callbacks_new(&cb) != 0) co_return std::make_error_code(std::errc::not_enough_memory);
  nghttp2_session_callbacks_set_on_header_callback(cb, ClientCallbacks::header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, ClientCallbacks::frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, ClientCallbacks::data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, ClientCallbacks::stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(cb, ClientCallbacks::frame_send);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  if (opt) nghttp2_option_set_no_auto_window_update(opt, 1);  // windows follow our readers
  int rv = nghttp2_session_client_new2(&ng_, cb, this, opt);
  nghttp2_session_callbacks_del(cb);
  if (opt) nghttp2_option_del(opt);
  if (rv != 0) co_return std::make_error_code(std::errc::not_enough_memory);
  nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0}, {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow}};
  nghttp2_submit_settings(ng_, NGHTTP2_FLAG_NONE, iv, std::size(iv));
  nghttp2_session_set_local_window_size(ng_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
  auto self = shared_from_this();
  asio::co_spawn(w_.io(), read_loop(self), [self](std::exception_ptr) {});
  asio::co_spawn(w_.io(), write_loop(self), [self](std::exception_ptr) {});
  co_return std::error_code();
}

awaitable<std::error_code> H2ClientConn::start_tls(const H2Upstreams::Target& t, std::chrono::milliseconds timeout) {
  SSL* ssl = tls::new_client_ssl(t.tls, t.name, t.verify);
  if (!ssl) co_return std::make_error_code(std::errc::not_enough_memory);
  sock_.start_client_tls(ssl);
  Deadline dl(w_.io().get_executor(), [this] { sock_.cancel(); });
  dl.arm(timeout);
  auto ec = co_await sock_.handshake();
  if (!ec && tls::negotiated_alpn(sock_.ssl()) != "h2") ec = std::make_error_code(std::errc::protocol_not_supported);
  if (ec)
    log(config::LogLevel::warning, "TLS to upstream " + t.name + " failed: " +
                                       (dl.expired() ? std::string("handshake timeout") : ec.message()) +
                                       (ec == std::errc::protocol_not_supported ? " (the server did not choose ALPN h2)" : ""));
  co_return ec;
}

void H2ClientConn::kick() { write_wake_.notify(); }

awaitable<void> H2ClientConn::write_loop(std::shared_ptr<H2ClientConn> self) {
  // One writer for the connection's life (kick() wakes it; safe inside nghttp2 callbacks).
  while (!closed_) {
    out_.clear();
    if (http2::gather_frames(ng_, out_) != 0) close();
    if (closed_) break;
    if (out_.empty()) {
      if ((goaway_ && streams_.empty()) || (!nghttp2_session_want_read(ng_) && !nghttp2_session_want_write(ng_))) {
        close();
        break;
      }
      co_await write_wake_.wait();
      continue;
    }
    auto [ec, n] = co_await asio::async_write(sock_, asio::buffer(out_), use_nothrow);
    if (ec) close();
  }
}

awaitable<void> H2ClientConn::read_loop(std::shared_ptr<H2ClientConn> self) {
  while (!closed_) {
    auto [ec, n] = co_await sock_.async_read_some(asio::buffer(rbuf_), use_nothrow);
    if (closed_) break;
    if (ec || n == 0) {
      close();
      break;
    }
    ssize_t rv = nghttp2_session_mem_recv(ng_, reinterpret_cast<const uint8_t*>(rbuf_.data()), n);
    if (rv < 0) {
      log(config::LogLevel::debug, std::string("HTTP/2 upstream: ") + nghttp2_strerror(static_cast<int>(rv)));
      close();
      break;
    }
    kick();  // SETTINGS/PING acknowledgements, window updates
  }
}

awaitable<std::optional<std::chrono::microseconds>> H2ClientConn::ping(std::chrono::milliseconds timeout) {
  if (closed_ || connecting_ || !ng_ || ping_timer_) co_return std::nullopt;
  uint8_t opaque[8];
  const uint64_t seq = ++ping_seq_;
  std::memcpy(opaque, &seq, sizeof opaque);
  if (nghttp2_submit_ping(ng_, NGHTTP2_FLAG_NONE, opaque) != 0) co_return std::nullopt;
  kick();
  asio::steady_timer t(w_.io());
  t.expires_after(timeout);
  ping_timer_ = &t;
  ping_acked_ = false;
  const auto start = SteadyClock::now();
  co_await t.async_wait(use_nothrow);  // ends at the ACK (cancel), the timeout, or close()
  ping_timer_ = nullptr;
  if (!ping_acked_) co_return std::nullopt;
  co_return std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - start);
}

void H2ClientConn::close() {
  if (closed_) return;
  closed_ = true;
  if (ping_timer_) ping_timer_->cancel();
  sock_.close();
  write_wake_.notify();
  // Every stream still open fails; its pipe sees the error (or its end, if complete). One
  // whose request never left, or that the server's GOAWAY excluded, was not processed.
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, st] : streams) {
    const bool unprocessed = !st->sent || (goaway_ && st->id > goaway_last_);
    finish(*st, st->eof          ? std::error_code()
                : unprocessed    ? std::error_code(asio::error::connection_refused)
                                 : std::error_code(asio::error::connection_reset));
  }
}

void H2ClientConn::finish(H2PipeState& st, std::error_code ec) {
  st.closed = true;
  if (ec && !st.error) st.error = ec;
  if (ng_ && st.id >= 0 && !closed_) nghttp2_session_set_stream_user_data(ng_, st.id, nullptr);
  deliver(st);
  if (st.pending_write) post(std::move(st.pending_write), st.error ? st.error : asio::error::broken_pipe, 0);
}

void H2ClientConn::deliver(H2PipeState& st) {
  if (!st.pending_read) return;
  if (!st.resp.empty()) {
    size_t n = st.resp.take(st.read_buf.data(), st.read_buf.size());
    // Window back to the server once the reader keeps up.
    if (st.unconsumed && st.resp.size() < kPipeBuffer) give_back(st);
    post(std::move(st.pending_read), {}, n);
  } else if (st.eof) {
    post(std::move(st.pending_read), asio::error::eof, 0);
  } else if (st.closed) {
    post(std::move(st.pending_read), st.error ? st.error : asio::error::connection_reset, 0);
  }
}

void H2ClientConn::read(const std::shared_ptr<H2PipeState>& st, asio::mutable_buffer b, PipeEnd::Handler h) {
  st->pending_read = std::move(h);
  st->read_buf = b;
  deliver(*st);
}

void H2ClientConn::cancel(H2PipeState& st) {
  if (st.pending_read) post(std::move(st.pending_read), asio::error::operation_aborted, 0);
  if (st.pending_write) post(std::move(st.pending_write), asio::error::operation_aborted, 0);
}

void H2ClientConn::give_back(H2PipeState& st) {
  if (!st.unconsumed || !ng_ || closed_) return;
  // The connection's window always; the stream's only while nghttp2 still has the stream.
  nghttp2_session_consume_connection(ng_, st.unconsumed);
  if (!st.closed) nghttp2_session_consume_stream(ng_, st.id, st.unconsumed);
  st.unconsumed = 0;
  kick();
}

void H2ClientConn::release(H2PipeState& st) {
  cancel(st);
  if (!st.closed && st.id >= 0 && !closed_) {
    nghttp2_session_set_stream_user_data(ng_, st.id, nullptr);
    nghttp2_submit_rst_stream(ng_, NGHTTP2_FLAG_NONE, st.id, NGHTTP2_CANCEL);
    streams_.erase(st.id);
    st.closed = true;
    kick();
  }
  give_back(st);  // response bytes never read: the connection window must not shrink for good
}

bool H2ClientConn::submit(const std::shared_ptr<H2PipeState>& st) {
  http::RequestHead req;
  http1::Limits lim{64 * 1024, 256 * 1024, 1000};
  if (http1::parse_request(st->head, lim, req).status != http1::ParseStatus::complete) return false;
  // RFC 9113 §8.3.1: pseudo-headers first; Host becomes :authority; connection-specific
  // fields (and the framing, which DATA frames replace) are not sent; TE only as "trailers".
  std::vector<std::string> names;  // lowercased names, stable storage for the nv array
  names.reserve(req.headers.size());
  std::vector<nghttp2_nv> nv;
  nv.reserve(req.headers.size() + 4);
  nv.push_back(make_nv(":method", req.method));
  nv.push_back(make_nv(":scheme", sock_.is_tls() ? "https" : "http"));
  nv.push_back(make_nv(":authority", req.host));
  nv.push_back(make_nv(":path", req.target));
  bool te_trailers = false;
  for (const auto& h : req.headers) {
    if (http::iequals(h.name, "host") || http::iequals(h.name, "transfer-encoding")) continue;
    if (http::iequals(h.name, "te")) {
      te_trailers = te_trailers || h.value.find("trailers") != std::string_view::npos;
      continue;
    }
    if (http::is_hop_by_hop(h.name) || http::listed_in_connection(req.headers, h.name)) continue;
    names.push_back(lower(h.name));
  }
  size_t k = 0;
  for (const auto& h : req.headers) {
    if (http::iequals(h.name, "host") || http::iequals(h.name, "transfer-encoding") || http::iequals(h.name, "te") ||
        http::is_hop_by_hop(h.name) || http::listed_in_connection(req.headers, h.name))
      continue;
    nv.push_back(make_nv(names[k++], h.value));
  }
  if (te_trailers) nv.push_back(make_nv("te", "trailers"));
  st->framing = req.framing;
  st->remaining = req.content_length;
  st->req_end = req.framing == http::Framing::none ||
                (req.framing == http::Framing::content_length && req.content_length == 0);
  nghttp2_data_provider prov;
  prov.source.ptr = st.get();
  prov.read_callback = ClientCallbacks::read_body;
  int32_t id = nghttp2_submit_request(ng_, nullptr, nv.data(), nv.size(), st->req_end ? nullptr : &prov, st.get());
  if (id < 0) return false;
  st->id = id;
  streams_.emplace(id, st);
  last_used_ = SteadyClock::now();
  return true;
}

void H2ClientConn::feed_body(H2PipeState& st, std::string_view data) {
  while (!data.empty() && !st.req_end) {
    if (st.framing == http::Framing::content_length) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(st.remaining, data.size()));
      st.req_buf.append(data.substr(0, n));
      st.remaining -= n;
      data.remove_prefix(n);
      st.req_end = st.remaining == 0;
    } else {  // chunked (our own upstream head's framing); trailers are not forwarded
      auto s = st.dec.step(data);
      if (s.error || s.consumed == 0) break;
      st.req_buf.append(s.data);
      data.remove_prefix(s.consumed);
      st.req_end = s.done;
    }
  }
}

void H2ClientConn::write(const std::shared_ptr<H2PipeState>& st, asio::const_buffer b, PipeEnd::Handler h) {
  std::string_view data(static_cast<const char*>(b.data()), b.size());
  if (st->closed || closed_) return post(std::move(h), st->error ? st->error : asio::error::broken_pipe, 0);
  if (!st->head_done) {
    st->head.append(data);
    size_t end = st->head.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (st->head.size() > 256 * 1024) return post(std::move(h), asio::error::message_size, 0);
      return post(std::move(h), {}, b.size());
    }
    std::string rest = st->head.substr(end + 4);
    st->head.resize(end + 4);
    st->head_done = true;
    if (!submit(st)) return post(std::move(h), asio::error::invalid_argument, 0);
    st->head.clear();
    st->head.shrink_to_fit();
    feed_body(*st, rest);
  } else {
    feed_body(*st, data);
  }
  if (st->id >= 0) nghttp2_session_resume_data(ng_, st->id);
  kick();
  if (st->req_buf.size() < kPipeBuffer) return post(std::move(h), {}, b.size());
  st->pending_write = std::move(h);  // completed once DATA frames took the bytes
  st->pending_write_n = b.size();
}

H2Upstreams::~H2Upstreams() { clear(); }

awaitable<std::error_code> H2Upstreams::open(const Target& t, std::chrono::milliseconds timeout,
                                             std::chrono::milliseconds idle_timeout, std::unique_ptr<UpstreamConn>& out,
                                             bool& reused) {
  const auto& server = t.server;
  std::shared_ptr<H2ClientConn> conn;
  for (;;) {
    auto& list = conns_[server.get()];  // again after each wait: the map may have changed
    conn = nullptr;
    for (auto& c : list)
      if (c->has_room()) {
        conn = c;
        break;
      }
    if (!conn) {
      // Registered before connecting, so the requests of a burst wait for this one connect.
      conn = std::make_shared<H2ClientConn>(w_, server, idle_timeout);
      list.push_back(conn);
      reused = false;
      auto ec = co_await conn->connect(t, timeout);
      if (ec) co_return ec;  // closed: forgotten by the next sweep
      break;
    }
    reused = !conn->connecting();
    if (reused) break;
    // A request waiting for a fresh connection shares its fate (a failed connect is ours too).
    if (!co_await conn->wait_connected()) co_return std::error_code(asio::error::connection_refused);
    if (conn->has_room()) break;
  }
  auto st = std::make_shared<H2PipeState>();
  st->conn = conn;
  auto pipe = std::make_unique<H2Pipe>(st);
  auto ex = w_.io().get_executor();
  out = std::make_unique<UpstreamConn>(ex, &w_.blocks(), std::unique_ptr<PipeEnd>(std::move(pipe)));
  out->server = server;
  co_return std::error_code();
}

awaitable<std::optional<std::chrono::microseconds>> H2Upstreams::ping(const Target& t, std::chrono::milliseconds timeout) {
  // An open connection that still takes streams (one that got GOAWAY is going away), or one
  // being connected (waited for), else a new one.
  std::shared_ptr<H2ClientConn> conn;
  for (auto& c : conns_[t.server.get()])
    if (!c->closed() && !c->goaway()) {
      conn = c;
      break;
    }
  if (conn && conn->connecting()) {
    // (Not inside a condition with other operands: GCC 12 miscompiles co_await there.)
    const bool connected = co_await conn->wait_connected();
    if (!connected) co_return std::nullopt;
  }
  if (!conn) {
    // A connection of its own that later requests share (registered before connecting).
    conn = std::make_shared<H2ClientConn>(w_, t.server, std::chrono::hours(24 * 365));
    conns_[t.server.get()].push_back(conn);
    if (co_await conn->connect(t, timeout)) co_return std::nullopt;
  }
  co_return co_await conn->ping(timeout);
}

void H2Upstreams::close_all(ServerState* server) {
  auto it = conns_.find(server);
  if (it == conns_.end()) return;
  for (auto& c : it->second) c->close();
}

void H2Upstreams::sweep() {
  for (auto it = conns_.begin(); it != conns_.end();) {
    auto& v = it->second;
    for (auto& c : v)
      if (!c->closed() && c->idle_expired()) c->close();
    std::erase_if(v, [](const auto& c) { return c->closed(); });
    it = v.empty() ? conns_.erase(it) : std::next(it);
  }
}

void H2Upstreams::clear() {
  for (auto& [server, v] : conns_)
    for (auto& c : v) c->close();
  conns_.clear();
}

}  // namespace ferry::proxy
