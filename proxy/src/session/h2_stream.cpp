// One HTTP/2 stream = one request: its fields decoded into a request head, then the request
// pipeline (request/pipeline.h) with this stream as its downstream: the request body from
// DATA frames, the response back as HEADERS + DATA under flow control.
// Part of http2::Connection (h2_session_impl.h); worker thread.
#include <algorithm>
#include <cstring>

// g++ 12 -O2 pairs asio's awaitable-frame operator delete with the wrong operator new in
// these coroutines and warns (-Wmismatched-new-delete): the same false positive as in
// http1_session.cpp; asio allocates and frees frames with its own matching pair.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include "http/error_pages.h"
#include "http/fields.h"
#include "http1/body.h"
#include "log/log.h"
#include "request/pipeline.h"
#include "session/h2_session_impl.h"

namespace ferry::proxy::http2 {
namespace {

using http::BodyResult;
using http::Framing;

// Response bytes a stream buffers ahead of the client's flow-control window; the upstream
// is not read further until nghttp2 has taken them.
constexpr size_t kResponseBuffer = 64 * 1024;
// Request bodies up to this size are awaited whole before forwarding (replayable).
constexpr uint64_t kReplayableBody = 64 * 1024;

nghttp2_data_provider provider(StreamState& s) {
  nghttp2_data_provider p;
  p.source.ptr = &s;
  p.read_callback = [](nghttp2_session* ng, int32_t id, uint8_t* buf, size_t length, uint32_t* flags,
                       nghttp2_data_source* source, void*) -> ssize_t {
    auto& st = *static_cast<StreamState*>(source->ptr);
    size_t n = st.resp_body.take(buf, length);
    if (n) st.wake.notify();  // room for the producer
    if (st.resp_end && st.resp_body.empty()) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!st.resp_trailers.empty()) {
        // The trailers end the stream instead (gRPC status); nghttp2 allows submitting them here.
        std::string arena;
        std::vector<nghttp2_nv> nv;
        trailer_fields(st.resp_trailers, arena, nv);
        if (!nv.empty() && nghttp2_submit_trailer(ng, id, nv.data(), nv.size()) == 0) *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      }
    } else if (n == 0) {
      return NGHTTP2_ERR_DEFERRED;
    }
    return static_cast<ssize_t>(n);
  };
  return p;
}

// Gives `n` forwarded (or dropped) request bytes back to the stream's flow-control window
// while the stream exists. The connection's window had them back on receipt (data_chunk).
void give_back(Connection& c, StreamState& s, size_t n) {
  if (n == 0) return;
  if (!s.closed) nghttp2_session_consume_stream(c.ng_, s.id, n);
  c.kick();
}

// Submits a complete response (Ferry's own pages); the body goes out through the provider.
void respond(Connection& c, StreamState& s, const std::vector<nghttp2_nv>& nv, std::string body) {
  if (s.closed || s.resp_submitted) return;
  if (s.req.method == "HEAD") body.clear();  // the fields still state the page's length
  s.resp_body.clear();
  s.resp_body.append(body);
  s.resp_end = true;
  s.discard = true;  // the request body is not wanted any more
  give_back(c, s, s.req_body.size());
  s.req_body.clear();
  s.resp_submitted = true;
  nghttp2_data_provider p = provider(s);
  if (nghttp2_submit_response(c.ng_, s.id, nv.data(), nv.size(), s.resp_body.empty() ? nullptr : &p) != 0)
    nghttp2_submit_rst_stream(c.ng_, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_INTERNAL_ERROR);
  c.kick();
}

void respond_error(Connection& c, StreamState& s, int status, std::string_view detail, std::string_view id,
                   uint32_t retry_after = 0) {
  std::string arena, body;
  std::vector<nghttp2_nv> nv;
  error_fields(status, detail, id, retry_after, arena, nv, body);
  respond(c, s, nv, std::move(body));
}

// The request body as the client sends it in DATA frames (http/body.h). Each span is the
// stream's buffer taken whole (the callbacks go on filling a fresh one meanwhile); its bytes
// go back to the stream's window once the next span is asked for, i.e. once they reached
// the upstream.
class RequestBodySource final : public http::BodySource {
 public:
  RequestBodySource(Connection& c, StreamState& s, std::chrono::milliseconds timeout) : c_(c), s_(s), timeout_(timeout) {}
  ~RequestBodySource() { give_back(c_, s_, std::exchange(taken_, 0)); }

  awaitable<BodyResult::Error> next(std::string_view& data, bool& end) override {
    give_back(c_, s_, std::exchange(taken_, 0));
    data = {};
    end = false;
    for (;;) {
      if (!s_.req_body.empty()) {
        chunk_.swap(s_.req_body);
        s_.req_body.clear();
        data = chunk_;
        taken_ = chunk_.size();
        end = s_.req_end && s_.req_body.empty();
        co_return BodyResult::Error::none;
      }
      if (s_.closed) co_return BodyResult::Error::read;  // the client reset the stream
      if (s_.req_end) {
        end = true;
        co_return BodyResult::Error::none;
      }
      s_.dl.arm(timeout_);
      co_await s_.wake.wait();
      if (s_.dl.expired() && s_.req_body.empty() && !s_.req_end) co_return BodyResult::Error::read_timeout;
    }
  }
  bool ready() const override { return !s_.req_body.empty() || s_.req_end || s_.closed; }

 private:
  Connection& c_;
  StreamState& s_;
  std::chrono::milliseconds timeout_;
  std::string chunk_;  // the span given out last
  size_t taken_ = 0;   // its bytes, not yet given back to the window
};

// The response body into the stream (http/body.h): queued for nghttp2's data provider, the
// writer waiting whenever kResponseBuffer bytes wait for the client's flow-control window.
class ResponseBodySink final : public http::BodySink {
 public:
  ResponseBodySink(Connection& c, StreamState& s, std::chrono::milliseconds timeout) : c_(c), s_(s), timeout_(timeout) {}

  // Without waiting while the queue stays below kResponseBuffer.
  bool poll_write(std::string_view data, bool, BodyResult::Error& e) override {
    if (!s_.closed && s_.resp_body.size() + data.size() >= kResponseBuffer) return false;
    e = queue(data);
    return true;
  }
  awaitable<BodyResult::Error> write(std::string_view data, bool) override {
    if (BodyResult::Error e = queue(data); e != BodyResult::Error::none) co_return e;
    while (s_.resp_body.size() >= kResponseBuffer) {
      s_.dl.arm(timeout_);
      co_await s_.wake.wait();
      if (s_.closed) co_return BodyResult::Error::write;
      if (s_.dl.expired() && s_.resp_body.size() >= kResponseBuffer) co_return BodyResult::Error::write_timeout;
    }
    co_return BodyResult::Error::none;
  }
  bool poll_finish(std::string_view trailers, BodyResult::Error& e) override {
    e = end(trailers);
    return true;
  }
  awaitable<BodyResult::Error> finish(std::string_view trailers) override { co_return end(trailers); }

 private:
  // The span queued for nghttp2's data provider (which is woken), unless the stream is gone.
  BodyResult::Error queue(std::string_view data) {
    if (s_.closed) return BodyResult::Error::write;
    s_.resp_body.append(data);
    nghttp2_session_resume_data(c_.ng_, s_.id);
    c_.kick();
    return BodyResult::Error::none;
  }
  BodyResult::Error end(std::string_view trailers) {
    if (s_.closed) return BodyResult::Error::write;
    s_.resp_trailers.assign(trailers);  // the provider filters them (trailer_fields)
    s_.resp_end = true;
    nghttp2_session_resume_data(c_.ng_, s_.id);
    c_.kick();
    return BodyResult::Error::none;
  }

  Connection& c_;
  StreamState& s_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

// The stream's side of the request pipeline. Lives in serve_stream's frame.
class StreamDownstream final : public RequestDownstream {
 public:
  // `request_id`: the pipeline's (RequestInfo), named on error pages once it is made.
  StreamDownstream(Connection& c, StreamState& s, const http::RequestHead& req, const std::string& request_id)
      : request_id_(request_id), c_(c), s_(s), framing_(req.framing), expect_(req.expect_continue) {}

  DownstreamConn& conn() override { return c_; }
  StatsProtocol protocol() const override { return StatsProtocol::http2; }
  std::string_view via() const override { return "2 ferry"; }
  uint64_t replayable_body_limit() const override { return kReplayableBody; }
  bool abandoned() const override { return s_.closed; }
  std::unique_ptr<UpstreamConn>& upstream_slot() override { return s_.up; }
  Deadline& deadline() override { return s_.dl; }
  void set_tee(http::BodyTee* tee) override { tee_ = tee; }

  awaitable<void> send_error(int status, std::string_view detail, bool, uint32_t retry_after) override {
    respond_error(c_, s_, status, detail, request_id_, retry_after);
    co_return;
  }

  awaitable<uint64_t> send_local(const LocalResponse& r, bool) override {
    const std::string status = std::to_string(r.status), len = std::to_string(r.body.size());
    const bool bodiless = r.status == 204 || r.status == 304;
    std::vector<nghttp2_nv> nv{make_nv(":status", status), make_nv("cache-control", "no-store")};
    if (!r.content_type.empty()) nv.push_back(make_nv("content-type", r.content_type));
    if (!bodiless) nv.push_back(make_nv("content-length", len));
    std::vector<std::string> names;  // HTTP/2 field names are lower-case
    names.reserve(r.extra.size());
    for (const auto& h : r.extra) {
      names.emplace_back(h.name);
      for (char& ch : names.back()) ch = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
      nv.push_back(make_nv(names.back(), h.value));
    }
    respond(c_, s_, nv, bodiless ? std::string() : r.body);
    co_return bodiless || r.head ? 0 : r.body.size();
  }

  void routed(const PlanApp& pa, const config::Backend& be) override {
    max_body_ = pa.cfg->max_body_size;
    client_timeout_ = c_.fe_->cfg->timeouts.client;
    server_timeout_ = be.timeouts.server;
  }

  // A small body still arriving is awaited whole (within `timeout client`), so the request
  // can be replayed on another server or after an HTTP/2 server refused its stream.
  awaitable<bool> await_body(const http::RequestHead& req, BodyWait& w) override {
    s_.dl.arm(client_timeout_);
    while (!s_.req_end && !s_.closed && s_.req_body.size() < req.content_length && !s_.dl.expired())
      co_await s_.wake.wait();
    if (!s_.closed && !s_.dl.expired()) co_return true;
    w.received = s_.req_body.size();
    w.termination = s_.closed ? "client-abort" : "client-timeout";
    if (!s_.closed) respond_error(c_, s_, 408, "request body not received in time", request_id_);
    co_return false;
  }

  // A body that has fully arrived can be replayed on another server.
  bool complete_body(const http::RequestHead& req, std::string_view& body) override {
    if (req.framing == Framing::none) return true;
    if (req.framing != Framing::content_length || !s_.req_end || s_.req_body.size() != req.content_length) return false;
    replay_.swap(s_.req_body);
    give_back(c_, s_, replay_.size());
    body = replay_;
    return true;
  }

  awaitable<BodyResult> send_body(UpstreamConn& up) override;

  // 103 Early Hints goes on to the client; other 1xx stop here.
  awaitable<void> interim(const http::ResponseHead& r) override {
    if (r.status != 103 || s_.closed) co_return;
    FieldBlock& f = c_.fields_;
    response_fields(r, {}, f.arena, f.nv);
    nghttp2_submit_headers(c_.ng_, NGHTTP2_FLAG_NONE, s_.id, nullptr, f.nv.data(), f.nv.size(), nullptr);
    c_.kick();
  }

  awaitable<RelayResult> relay_response(Exchange& x, const RequestInfo& info, const config::Backend& be,
                                        bool upgrade) override;

 private:
  const std::string& request_id_;
  Connection& c_;
  StreamState& s_;
  Framing framing_;
  bool expect_;
  uint64_t max_body_ = 0;  // the routed app's max-body-size (0: none)
  std::chrono::milliseconds client_timeout_{0}, server_timeout_{0};
  http::BodyTee* tee_ = nullptr;  // copy of the streamed body for a Ferry-Replay (null: none)
  std::string replay_;            // the complete body, lent to the exchange
};

// The request body from the stream to the upstream: raw, re-chunked only for a chunked
// request to an HTTP/1.1 server. Windows are given back as bytes reach the upstream.
awaitable<BodyResult> StreamDownstream::send_body(UpstreamConn& up) {
  StreamState& s = s_;
  Connection& c = c_;
  if (expect_ && s.req_body.empty() && !s.req_end && !s.closed) {
    static const nghttp2_nv cont[] = {{(uint8_t*)":status", (uint8_t*)"100", 7, 3, NGHTTP2_NV_FLAG_NONE}};
    nghttp2_submit_headers(c.ng_, NGHTTP2_FLAG_NONE, s.id, nullptr, cont, 1, nullptr);
    c.kick();
  }
  RequestBodySource src(c, s, client_timeout_);
  http1::StreamBodySink sink(up.sock, framing_ == Framing::chunked && up.chunked_on_wire(), s.dl, server_timeout_);
  http::BodyPump pump(src, sink, {max_body_, tee_});
  if (!pump.run()) co_await pump.rest();
  if (pump.result().ok()) up.end_body();
  co_return pump.result();
}

awaitable<RelayResult> StreamDownstream::relay_response(Exchange& x, const RequestInfo& info,
                                                        const config::Backend& be, bool) {
  StreamState& s = s_;
  Connection& c = c_;
  RelayResult rr;
  http::ResponseHead& resp = x.resp;
  if (resp.framing == Framing::tunnel) {  // 101 without an upgrade request
    respond_error(c, s, 502, "invalid response from upstream", info.request_id);
    rr.status = 502;
    rr.termination = "upstream-protocol";
    co_return rr;
  }
  if (s.closed) {
    rr.termination = "client-abort";
    co_return rr;
  }
  std::vector<nghttp2_nv>& nv = c.fields_.nv;
  response_fields(resp, info.request_id, c.fields_.arena, nv);
  const Framing framing = resp.framing;
  const uint64_t length = resp.content_length;
  s.up->buf.consume(resp.head_size);
  s.resp_submitted = true;
  s.resp_end = framing == Framing::none;
  // A response without a body is finished for the server: it stops counting against its
  // in-flight load before the client can see the answer (as for HTTP/1).
  if (s.resp_end) x.inflight.drop();
  nghttp2_data_provider p = provider(s);
  if (nghttp2_submit_response(c.ng_, s.id, nv.data(), nv.size(), s.resp_end ? nullptr : &p) != 0) {
    nghttp2_submit_rst_stream(c.ng_, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_INTERNAL_ERROR);
    c.kick();
    rr.termination = "internal";
    co_return rr;
  }
  c.kick();
  if (framing != Framing::none) {
    http1::StreamBodySource src(s.up->sock, s.up->buf, framing, length, s.dl, be.timeouts.server, 0,
                                s.up->trailers());
    ResponseBodySink sink(c, s, client_timeout_);
    http::BodyPump pump(src, sink);
    if (!pump.run()) co_await pump.rest();
    const BodyResult& br = pump.result();
    rr.out = br.bytes;
    // Read in full (or failed): the server is done. The writer coroutine sends the queued end
    // of the body only after this, as it runs from a posted wake-up.
    x.inflight.drop();
    if (!br.ok()) {
      // The response is cut short: the client must not take it as complete.
      if (!s.closed) {
        nghttp2_submit_rst_stream(c.ng_, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_INTERNAL_ERROR);
        c.kick();
      }
      rr.termination = s.closed ? "client-abort" : relay_termination(br.error);
      co_return rr;
    }
  }
  rr.keep_upstream = true;
  rr.keep_downstream = true;
  co_return rr;
}

awaitable<void> Connection::serve_stream(std::shared_ptr<Connection> self, StreamState& s) {
  struct Finish {
    Connection& c;
    StreamState& s;
    std::unique_ptr<RequestScratch> scratch;
    ~Finish() {
      c.w_.give_scratch(std::move(scratch));
      c.finish_stream(s);
    }
  } fin{*this, s, w_.take_scratch()};
  RequestScratch& sc = *fin.scratch;
  sc.info.request_id.clear();

  if (s.closed) co_return;  // reset before it started
  if (!refresh_plan()) {
    respond_error(*this, s, 503, "this listener was removed by a reload", {});
    begin_shutdown();
    co_return;
  }
  http::RequestHead& req = sc.req;
  const char* reason = "";
  if (s.req.too_large) {
    respond_error(*this, s, 431, "request header fields too large", {});
    log(config::LogLevel::debug, "frontend " + fe_->cfg->name + ": HTTP/2 request head too large from " + client_ip_);
    co_return;
  }
  if (int st = to_request_head(s.req, s.req_end && s.req_body.empty(), req, &reason)) {
    respond_error(*this, s, st, reason, {});
    co_return;
  }
  if (req.framing == Framing::chunked && s.req_end) {
    // The whole body came with the head (no content-length): send it with a length, which
    // also makes the request replayable.
    req.framing = Framing::content_length;
    req.content_length = s.req_body.size();
  }
  StreamDownstream down(*this, s, req, sc.info.request_id);
  co_await run_request(down, req, sc);
}

}  // namespace ferry::proxy::http2
