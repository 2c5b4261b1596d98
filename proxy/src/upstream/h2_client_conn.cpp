// The HTTP/2 client connection to one server (upstream/h2_client_conn.h). Worker thread.
#include "upstream/h2_client_conn.h"

#include <cstring>

#include "http2/mem.h"
#include "http2/send_batch.h"
#include "log/log.h"
#include "net/connect.h"
#include "net/deadline.h"
#include "tls/client_context.h"
#include "tls/server_context.h"

namespace ferry::proxy {
namespace {

constexpr int32_t kStreamWindow = 256 * 1024;
constexpr int32_t kConnectionWindow = 4 * 1024 * 1024;

}  // namespace

void H2ClientConn::post(PipeEnd::Handler h, std::error_code ec, size_t n) {
  asio::post(io_, [h = std::move(h), ec, n] { h(ec, n); });
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
      if (!st->final_seen) {
        // A response head: interim 1xx heads, then the final one (with END_STREAM when the
        // response has no body).
        for (const auto& [n, v] : st->fields)
          if (n == ":status") st->final_seen = v.empty() || v[0] != '1';
        st->heads.push_back({std::move(st->fields), end});
        st->head_wake.notify();
      } else {
        // Trailers (nghttp2 requires END_STREAM on them).
        for (const auto& [n, v] : st->fields)
          if (!n.empty() && n[0] != ':') st->trailers.append(n).append(": ").append(v).append("\r\n");
      }
      st->fields.clear();
      if (end) st->eof = true;
      c.deliver(*st);
      return 0;
    }
    if (frame->hd.type == NGHTTP2_DATA && end) {
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
    st->resp.append({reinterpret_cast<const char*>(data), len});
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
    if (st.pending_write && st.req_buf.size() < kH2PipeBuffer)
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
  int rv = nghttp2_session_client_new3(&ng_, cb, this, opt, http2::cached_mem());
  nghttp2_session_callbacks_del(cb);
  if (opt) nghttp2_option_del(opt);
  if (rv != 0) co_return std::make_error_code(std::errc::not_enough_memory);
  nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0}, {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow}};
  nghttp2_submit_settings(ng_, NGHTTP2_FLAG_NONE, iv, std::size(iv));
  nghttp2_session_set_local_window_size(ng_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
  auto self = shared_from_this();
  asio::co_spawn(io_, read_loop(self), [self](std::exception_ptr) {});
  asio::co_spawn(io_, write_loop(self), [self](std::exception_ptr) {});
  co_return std::error_code();
}

awaitable<std::error_code> H2ClientConn::start_tls(const H2Upstreams::Target& t, std::chrono::milliseconds timeout) {
  SSL* ssl = tls::new_client_ssl(t.tls, t.name, t.verify);
  if (!ssl) co_return std::make_error_code(std::errc::not_enough_memory);
  sock_.start_client_tls(ssl);
  Deadline dl(io_.get_executor(), [this] { sock_.cancel(); });
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
    // Usually the socket takes it all at once: no write operation, no suspension.
    std::error_code ec;
    const size_t n = sock_.write_now(asio::buffer(out_), ec);
    if (ec == asio::error::would_block) std::tie(ec, std::ignore) = co_await asio::async_write(sock_, asio::buffer(out_) + n, use_nothrow);
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
  asio::steady_timer t(io_);
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


bool H2ClientConn::submit(const std::shared_ptr<H2PipeState>& st, const http::OutboundRequest& head,
                          std::span<const http::Header> extra, std::string_view body, bool whole) {
  // RFC 9113 §8.3.1: pseudo-headers first, :authority for Host, no connection-specific fields
  // (DATA frames replace the framing); the head's index says which fields those are.
  std::vector<nghttp2_nv>& nv = fields_.nv;
  http2::request_fields(head, extra, sock_.is_tls() ? "https" : "http", fields_.arena, nv);
  st->framing = head.framing;
  st->remaining = head.content_length;
  st->req_buf.append(body);
  if (head.framing == http::Framing::content_length) st->remaining -= std::min<uint64_t>(st->remaining, body.size());
  st->req_end = whole || head.framing == http::Framing::none ||
                (head.framing == http::Framing::content_length && st->remaining == 0);
  nghttp2_data_provider prov;
  prov.source.ptr = st.get();
  prov.read_callback = ClientCallbacks::read_body;
  const bool no_data = st->req_end && st->req_buf.empty();
  int32_t id = nghttp2_submit_request(ng_, nullptr, nv.data(), nv.size(), no_data ? nullptr : &prov, st.get());
  if (id < 0) return false;
  st->id = id;
  streams_.emplace(id, st);
  last_used_ = SteadyClock::now();
  kick();
  return true;
}

void H2ClientConn::end_body(H2PipeState& st) {
  if (st.req_end) return;
  st.req_end = true;
  if (st.id >= 0 && !st.closed && !closed_) nghttp2_session_resume_data(ng_, st.id);
  kick();
}

}  // namespace ferry::proxy
