// The HTTP/1 session's side of the request pipeline (request/downstream.h): error pages and
// local answers, the request body from the connection (awaited whole when small, else streamed
// to the upstream, after 100 Continue when asked), and the response relayed back (re-framed
// for the client's version, or a tunnel after a 101). Part of http1::Session
// (http1_session_impl.h); worker thread.
#include <algorithm>

// g++ 12 -O2 pairs asio's awaitable-frame operator delete with the wrong operator new in these
// coroutines and warns (-Wmismatched-new-delete): the false positive silenced the same way in
// http1_session.cpp (asio allocates and frees frames with its own matching pair).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include "http/error_pages.h"
#include "http1/body.h"
#include "http1/rewrite.h"
#include "session/http1_session_impl.h"
#include "tcp/tunnel.h"

namespace ferry::proxy::http1 {
namespace {

constexpr size_t kBodyBufferSize = 64 * 1024;
// A request body up to this size that is still arriving is read whole before the request is
// sent, so that it can be replayed (another server, or a stream an HTTP/2 server refused).
constexpr uint64_t kReplayableBody = 8 * 1024;

}  // namespace

uint64_t Session::replayable_body_limit() const { return kReplayableBody; }

void Session::head_done() {
  if (!head_pending_) return;
  head_pending_ = false;
  buf_.consume(head_size_);
}

awaitable<void> Session::send_error(int status, std::string_view detail, bool close, uint32_t retry_after) {
  head_done();
  const std::string extra = retry_after ? "Retry-After: " + std::to_string(retry_after) + "\r\n" : std::string();
  co_await write_error(status, detail, close, extra);
}

awaitable<uint64_t> Session::send_local(const LocalResponse& r, bool close) {
  head_done();
  std::string extra;
  for (const auto& h : r.extra) extra.append(h.name).append(": ").append(h.value).append("\r\n");
  const std::string out = local_response(r.status, r.content_type, r.body, close, extra, r.head);
  dl_.arm(fe_->cfg->timeouts.client);
  auto [ec, n] = co_await asio::async_write(sock_, asio::buffer(out), use_nothrow);
  co_return ec ? 0 : n;
}

void Session::routed(const PlanApp& pa, const config::Backend& be) {
  max_body_ = pa.cfg->max_body_size;
  server_timeout_ = be.timeouts.server;
}

awaitable<bool> Session::await_body(const http::RequestHead&, BodyWait& w) {
  dl_.arm(fe_->cfg->timeouts.client);
  while (buf_.size() < length_) {
    auto [ec, n] = co_await sock_.async_read_some(asio::buffer(buf_.space(), buf_.space_size()), use_nothrow);
    if (ec || n == 0) {
      w.received = buf_.size();
      w.termination = dl_.expired() ? "client-timeout" : "client-abort";
      co_return false;
    }
    buf_.commit(n);
  }
  co_return true;
}

bool Session::complete_body(const http::RequestHead&, std::string_view& body) {
  // A body that is already complete in our buffer can be replayed on another server.
  complete_len_ = 0;
  if (framing_ == http::Framing::none) return true;
  if (framing_ != http::Framing::content_length || buf_.size() < length_) return false;
  complete_len_ = length_;
  body = buf_.data().substr(0, complete_len_);
  return true;
}

void Session::complete_body_done() {
  buf_.consume(complete_len_);
  complete_len_ = 0;
}

// The rest of the body streams from our connection; 100-continue is sent first when the
// client waits for it.
awaitable<BodyResult> Session::send_body(UpstreamConn& up) {
  const auto& fe = *fe_->cfg;
  if (expect_ && buf_.empty()) {
    static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
    dl_.arm(fe.timeouts.client);
    co_await asio::async_write(sock_, asio::buffer(cont), use_nothrow);
  }
  // Chunked stays chunked towards an HTTP/1.1 server; an HTTP/2 stream takes the raw bytes.
  StreamBodySource src(sock_, buf_, framing_, length_, dl_, fe.timeouts.client);
  StreamBodySink sink(up.sock, framing_ == http::Framing::chunked && up.chunked_on_wire(), dl_, server_timeout_);
  http::BodyPump pump(src, sink, {max_body_, tee_});
  if (!pump.run()) co_await pump.rest();
  if (pump.result().ok()) up.end_body();
  co_return pump.result();
}

// 103 Early Hints goes on to HTTP/1.1 clients (its hop-by-hop fields dropped); other 1xx stop
// here.
awaitable<void> Session::interim(const http::ResponseHead& r) {
  if (r.status != 103 || minor_ < 1) co_return;
  std::string out;
  build_downstream_response(r, ResponseBodyOut::same, true, minor_, {}, out);
  dl_.arm(fe_->cfg->timeouts.client);
  co_await asio::async_write(sock_, asio::buffer(out), use_nothrow);
}

awaitable<RelayResult> Session::relay_response(Exchange& x, const RequestInfo& info, const config::Backend& be,
                                               bool upgrade) {
  const config::Frontend& fe = *fe_->cfg;
  http::ResponseHead& resp = x.resp;
  RelayResult rr;
  ResponseBodyOut body_out = choose_body_out(resp, info.minor);
  if (body_out == ResponseBodyOut::tunnel && !upgrade) body_out = ResponseBodyOut::until_close;
  const bool keep = info.keep_alive && !w_.draining() && body_out != ResponseBodyOut::until_close &&
                    body_out != ResponseBodyOut::tunnel;
  s_->out.clear();
  build_downstream_response(resp, body_out, keep, info.minor, info.request_id, s_->out);
  const http::Framing resp_framing = resp.framing;
  const uint64_t resp_length = resp.content_length;
  up_->buf.consume(resp.head_size);
  // The head goes out together with the body bytes already read: one write for a small
  // response.
  uint64_t early = 0;
  if (body_out == ResponseBodyOut::same && resp_framing == http::Framing::content_length)
    early = std::min<uint64_t>(resp_length, up_->buf.size());
  std::array<asio::const_buffer, 2> head_bufs{asio::buffer(s_->out), asio::buffer(up_->buf.data().substr(0, early))};
  // A response whose body is all here (or that has none) is finished for the server: it stops
  // counting against its in-flight load (maxconn, balancing, the mesh load report) before the
  // write, so a client that sends its next request the moment it has this one cannot find the
  // server still busy while this coroutine waits to resume.
  if (resp_framing == http::Framing::none || (resp_framing == http::Framing::content_length && early == resp_length))
    x.inflight.drop();
  dl_.arm(fe.timeouts.client);
  // The socket (or TLS) usually takes it all at once: then no write operation and no
  // suspension. What it did not take is written by asio.
  std::error_code hec;
  const size_t hn = sock_.try_write(head_bufs, hec);
  if (hec == asio::error::would_block || (!hec && hn < asio::buffer_size(head_bufs))) {
    Stream::advance(head_bufs, hn);
    auto [ec, n] = co_await asio::async_write(sock_, head_bufs, use_nothrow);
    hec = ec;
  }
  up_->buf.consume(early);
  if (hec) {
    rr.termination = "client-abort";
    co_return rr;
  }

  if (body_out == ResponseBodyOut::tunnel) {
    dl_.disarm();
    tunneling_ = true;  // a backhaul revocation (reload) cuts it
    auto tr = co_await run_tunnel(sock_, buf_, up_->sock, up_->buf, tunnel_idle_limit(fe.timeouts.tunnel, be.timeouts.tunnel));
    tunneling_ = false;
    rr.in_extra = tr.a_to_b;
    rr.out = tr.b_to_a;
    if (tr.idle_timeout) rr.termination = "tunnel-timeout";
    co_return rr;
  }

  rr.out = early;
  if (resp_framing != http::Framing::none && !(resp_framing == http::Framing::content_length && early == resp_length)) {
    // A body larger than the 16 KiB block moves in 64 KiB reads: 4x fewer syscalls and
    // wake-ups per response. Known large (Content-Length): grown now. Unknown (chunked, until
    // close): grown once a read fills the block, so small ones never allocate it. The grown
    // buffer is freed when the connection goes idle.
    if (resp_framing == http::Framing::content_length && resp_length - early > up_->buf.capacity())
      up_->buf.reserve(kBodyBufferSize);
    StreamBodySource src(up_->sock, up_->buf, resp_framing, resp_length - early, dl_, be.timeouts.server,
                         kBodyBufferSize, up_->trailers());
    StreamBodySink sink(sock_, body_out == ResponseBodyOut::chunked, dl_, fe.timeouts.client);
    http::BodyPump pump(src, sink, {0, nullptr, [&x] { x.inflight.drop(); }});
    if (!pump.run()) co_await pump.rest();
    const BodyResult& br = pump.result();
    rr.out += br.bytes;
    if (!br.ok()) {
      rr.termination = relay_termination(br.error);  // cut short: the client must see the connection end
      co_return rr;
    }
  }
  rr.keep_upstream = true;
  rr.keep_downstream = keep;
  co_return rr;
}

}  // namespace ferry::proxy::http1
