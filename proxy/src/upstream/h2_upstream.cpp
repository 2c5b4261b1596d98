#include "upstream/h2_upstream.h"

#include "upstream/h2_client_conn.h"

namespace ferry::proxy {

namespace {

// The PipeEnd of one stream: the request body in, the response body out. Its state keeps the
// connection alive until the pipe is gone, so the rest of a response can still be read after
// the stream (or the connection) closed.
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

// The HTTP/2 implementation of upstream/conn.h: one stream.
class H2StreamUpstream final : public UpstreamConn {
 public:
  H2StreamUpstream(asio::any_io_executor ex, BlockPool* blocks, std::shared_ptr<H2PipeState> st)
      : UpstreamConn(Stream(ex, std::make_unique<H2Pipe>(st)), blocks), st_(std::move(st)) {}

  awaitable<std::error_code> send_head(const http::OutboundRequest& head, std::span<const http::Header> extra,
                                       std::string_view body, bool whole) override {
    H2ClientConn& c = *st_->conn;
    if (st_->closed || c.closed()) co_return st_->error ? st_->error : std::error_code(asio::error::broken_pipe);
    if (!c.submit(st_, head, extra, body, whole)) co_return std::error_code(asio::error::invalid_argument);
    co_return std::error_code();
  }
  bool chunked_on_wire() const override { return false; }
  void end_body() override { st_->conn->end_body(*st_); }

  awaitable<HeadRead> read_head(http::ResponseHead& resp, std::string_view method, Deadline& dl,
                                std::chrono::milliseconds timeout) override {
    HeadRead r;
    for (;;) {
      if (!st_->heads.empty()) {
        st_->current = std::move(st_->heads.front());
        st_->heads.pop_front();
        r.got_bytes = true;
        r.status = http2::to_response_head(st_->current.fields, method, st_->current.end, resp) == 0
                       ? HeadRead::Status::complete
                       : HeadRead::Status::invalid;
        co_return r;
      }
      if (st_->closed) {
        r.status = HeadRead::Status::closed;
        r.refused = st_->error == asio::error::connection_refused;
        co_return r;
      }
      dl.arm(timeout);
      co_await st_->head_wake.wait();
      if (std::exchange(st_->cancelled, false)) {  // as an aborted read would
        r.status = dl.expired() ? HeadRead::Status::timeout : HeadRead::Status::closed;
        co_return r;
      }
    }
  }
  const std::string* trailers() const override { return &st_->trailers; }
  bool poolable() const override { return false; }  // the connection stays shared instead

 private:
  std::shared_ptr<H2PipeState> st_;
};

void H2ClientConn::finish(H2PipeState& st, std::error_code ec) {
  st.closed = true;
  if (ec && !st.error) st.error = ec;
  if (ng_ && st.id >= 0 && !closed_) nghttp2_session_set_stream_user_data(ng_, st.id, nullptr);
  st.head_wake.notify();
  deliver(st);
  if (st.pending_write) post(std::move(st.pending_write), st.error ? st.error : asio::error::broken_pipe, 0);
}

void H2ClientConn::deliver(H2PipeState& st) {
  if (!st.pending_read) return;
  if (!st.resp.empty()) {
    size_t n = st.resp.take(st.read_buf.data(), st.read_buf.size());
    // Window back to the server once the reader keeps up.
    if (st.unconsumed && st.resp.size() < kH2PipeBuffer) give_back(st);
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
  st.cancelled = true;  // a read_head waiting ends, as a pending read does
  st.head_wake.notify();
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

void H2ClientConn::write(const std::shared_ptr<H2PipeState>& st, asio::const_buffer b, PipeEnd::Handler h) {
  std::string_view data(static_cast<const char*>(b.data()), b.size());
  if (st->closed || closed_) return post(std::move(h), st->error ? st->error : asio::error::broken_pipe, 0);
  if (st->id < 0 || st->req_end) return post(std::move(h), asio::error::invalid_argument, 0);  // no head, or past the end
  if (st->framing == http::Framing::content_length) {
    data = data.substr(0, static_cast<size_t>(std::min<uint64_t>(st->remaining, data.size())));
    st->remaining -= data.size();
    st->req_end = st->remaining == 0;
  }
  st->req_buf.append(data);
  nghttp2_session_resume_data(ng_, st->id);
  kick();
  if (st->req_buf.size() < kH2PipeBuffer) return post(std::move(h), {}, b.size());
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
      conn = std::make_shared<H2ClientConn>(io_, server, idle_timeout);
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
  new_stream(std::move(conn), server, out);
  co_return std::error_code();
}

bool H2Upstreams::try_open(const std::shared_ptr<ServerState>& server, std::unique_ptr<UpstreamConn>& out) {
  auto it = conns_.find(server.get());
  if (it == conns_.end()) return false;
  for (auto& c : it->second)
    if (c->has_room() && !c->connecting()) {
      new_stream(c, server, out);
      return true;
    }
  return false;
}

void H2Upstreams::new_stream(std::shared_ptr<H2ClientConn> conn, const std::shared_ptr<ServerState>& server,
                             std::unique_ptr<UpstreamConn>& out) {
  auto st = std::make_shared<H2PipeState>(io_.get_executor());
  st->conn = std::move(conn);
  out = std::make_unique<H2StreamUpstream>(io_.get_executor(), &blocks_, std::move(st));
  out->server = server;
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
    conn = std::make_shared<H2ClientConn>(io_, t.server, std::chrono::hours(24 * 365));
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
