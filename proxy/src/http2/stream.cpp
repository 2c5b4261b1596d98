// One HTTP/2 stream = one request: routing, the app's budget, the shared upstream exchange
// (upstream/exchange.h), and the response back as HEADERS + DATA under flow control.
// Part of http2::Connection (session_impl.h); worker thread.
#include <algorithm>
#include <cstring>

// g++ 12 -O2 pairs asio's awaitable-frame operator delete with the wrong operator new in
// serve_stream() (whose frame holds a BodyTee with a destructor) and warns
// (-Wmismatched-new-delete): the same false positive as in http1/session.cpp; asio allocates
// and frees frames with its own matching pair.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include "error_pages.h"
#include "http1/rewrite.h"
#include "http2/session_impl.h"
#include "log.h"
#include "mesh/load_report.h"
#include "request_common.h"
#include "routing/hints.h"
#include "routing/request_route.h"
#include "upstream/exchange.h"
#include "upstream/replay.h"
#include "http1/chunked.h"
#include "http/fields.h"

namespace ferry::proxy::http2 {
namespace {

using http1::BodyResult;
using http::Framing;

// Response bytes a stream buffers ahead of the client's flow-control window; the upstream
// is not read further until nghttp2 has taken them.
constexpr size_t kResponseBuffer = 64 * 1024;
// Request bodies up to this size are awaited whole before forwarding (replayable).
constexpr uint64_t kReplayableBody = 64 * 1024;

double ms_since(SteadyClock::time_point t) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - t).count();
}

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
                   bool retry_after = false) {
  std::string arena, body;
  std::vector<nghttp2_nv> nv;
  error_fields(status, detail, id, retry_after, arena, nv, body);
  respond(c, s, nv, std::move(body));
}

// The request body from the stream to the upstream: raw for content-length, re-chunked
// otherwise. Windows are given back as bytes reach the upstream.
struct StreamDownstream final : ExchangeDownstream {
  Connection& c;
  StreamState& s;
  Framing framing;
  bool expect;
  uint64_t max_bytes;
  std::chrono::milliseconds client_timeout, server_timeout;
  http1::BodyTee* tee = nullptr;  // copy of the streamed body for a Ferry-Replay (null: none)

  StreamDownstream(Connection& c, StreamState& s, Framing f, bool expect, uint64_t max, std::chrono::milliseconds ct,
                   std::chrono::milliseconds st)
      : c(c), s(s), framing(f), expect(expect), max_bytes(max), client_timeout(ct), server_timeout(st) {}

  bool abandoned() const override { return s.closed; }

  // 103 Early Hints goes on to the client; other 1xx stop here.
  awaitable<void> interim(const http::ResponseHead& r, std::string_view) override {
    if (r.status != 103 || s.closed) co_return;
    std::string arena;
    std::vector<nghttp2_nv> nv;
    response_fields(r, {}, arena, nv);
    nghttp2_submit_headers(c.ng_, NGHTTP2_FLAG_NONE, s.id, nullptr, nv.data(), nv.size(), nullptr);
    c.kick();
  }

  awaitable<BodyResult> send_body(UpstreamConn& up) override {
    BodyResult r;
    if (expect && s.req_body.empty() && !s.req_end && !s.closed) {
      static const nghttp2_nv cont[] = {{(uint8_t*)":status", (uint8_t*)"100", 7, 3, NGHTTP2_NV_FLAG_NONE}};
      nghttp2_submit_headers(c.ng_, NGHTTP2_FLAG_NONE, s.id, nullptr, cont, 1, nullptr);
      c.kick();
    }
    const bool chunked = framing == Framing::chunked;
    std::string chunk, head;
    for (;;) {
      if (!s.req_body.empty()) {
        chunk.swap(s.req_body);
        s.req_body.clear();
        if (max_bytes && r.bytes + chunk.size() > max_bytes) {
          give_back(c, s, chunk.size());
          r.error = BodyResult::Error::too_large;
          co_return r;
        }
        head.clear();
        if (chunked) http1::append_chunk_header(head, chunk.size());
        std::array<asio::const_buffer, 3> bufs{asio::buffer(head), asio::buffer(chunk),
                                               asio::buffer("\r\n", chunked ? 2 : 0)};
        s.dl.arm(server_timeout);
        auto [ec, n] = co_await asio::async_write(up.sock, bufs, use_nothrow);
        const size_t taken = chunk.size();
        if (ec) {
          give_back(c, s, taken);
          r.error = s.dl.expired() ? BodyResult::Error::write_timeout : BodyResult::Error::write;
          co_return r;
        }
        r.bytes += taken;
        if (tee) {
          tee->add(head, 0);
          tee->add(chunk, taken);
          if (chunked) tee->add("\r\n", 0);
        }
        give_back(c, s, taken);
        continue;
      }
      if (s.closed) {
        r.error = BodyResult::Error::read;  // the client reset the stream
        co_return r;
      }
      if (s.req_end) break;
      s.dl.arm(client_timeout);
      co_await s.wake.wait();
      if (s.dl.expired() && s.req_body.empty() && !s.req_end) {
        r.error = BodyResult::Error::read_timeout;
        co_return r;
      }
    }
    if (chunked) {
      s.dl.arm(server_timeout);
      if (tee) tee->add(http1::kLastChunk, 0);
      auto [ec, n] = co_await asio::async_write(up.sock, asio::buffer(http1::kLastChunk), use_nothrow);
      if (ec) r.error = s.dl.expired() ? BodyResult::Error::write_timeout : BodyResult::Error::write;
    }
    co_return r;
  }
};

enum class PumpResult { ok, upstream_error, upstream_timeout, client_gone, client_timeout };

// Moves the upstream response body into the stream's buffer (decoding chunked framing),
// waiting whenever kResponseBuffer bytes are queued for the client.
awaitable<PumpResult> pump_response(Connection& c, StreamState& s, UpstreamConn& up, Framing framing,
                                    uint64_t length, std::chrono::milliseconds server_timeout,
                                    std::chrono::milliseconds client_timeout, uint64_t& bytes) {
  http1::ChunkedDecoder dec;
  dec.keep_trailers(&s.resp_trailers);
  uint64_t remaining = length;
  bool done = framing == Framing::content_length && remaining == 0;
  while (!done) {
    // Decode what is buffered.
    while (!up.buf.empty() && !done && s.resp_body.size() < kResponseBuffer) {
      if (framing == Framing::chunked) {
        auto st = dec.step(up.buf.data());
        if (st.error) co_return PumpResult::upstream_error;
        if (st.consumed == 0) break;
        s.resp_body.append(st.data);
        bytes += st.data.size();
        up.buf.consume(st.consumed);
        done = st.done;
      } else {
        size_t n = up.buf.size();
        if (framing == Framing::content_length) n = static_cast<size_t>(std::min<uint64_t>(n, remaining));
        s.resp_body.append(up.buf.data().substr(0, n));
        bytes += n;
        up.buf.consume(n);
        remaining -= framing == Framing::content_length ? n : 0;
        done = framing == Framing::content_length && remaining == 0;
      }
    }
    if (s.closed) co_return PumpResult::client_gone;
    if (!s.resp_body.empty()) {
      nghttp2_session_resume_data(c.ng_, s.id);
      c.kick();
    }
    if (done) break;
    if (s.resp_body.size() >= kResponseBuffer) {
      s.dl.arm(client_timeout);
      co_await s.wake.wait();
      if (s.closed) co_return PumpResult::client_gone;
      if (s.dl.expired() && s.resp_body.size() >= kResponseBuffer) co_return PumpResult::client_timeout;
      continue;
    }
    if (up.buf.space_size() == 0) up.buf.reserve(up.buf.capacity() * 2);  // an incomplete chunk line
    s.dl.arm(server_timeout);
    auto [ec, n] = co_await up.sock.async_read_some(asio::buffer(up.buf.space(), up.buf.space_size()), use_nothrow);
    if (s.closed) co_return PumpResult::client_gone;
    if (ec == asio::error::eof && framing == Framing::until_close) break;
    if (ec || n == 0) co_return s.dl.expired() ? PumpResult::upstream_timeout : PumpResult::upstream_error;
    up.buf.commit(n);
  }
  s.resp_end = true;
  nghttp2_session_resume_data(c.ng_, s.id);
  c.kick();
  co_return PumpResult::ok;
}

}  // namespace

awaitable<void> Connection::serve_stream(std::shared_ptr<Connection> self, StreamState& s) {
  struct Finish {
    Connection& c;
    StreamState& s;
    std::unique_ptr<http1::RequestScratch> scratch;
    ~Finish() {
      c.w_.give_scratch(std::move(scratch));
      c.finish_stream(s);
    }
  } fin{*this, s, w_.take_scratch()};
  http1::RequestScratch& sc = *fin.scratch;
  http1::RequestInfo& info = sc.info;
  info.started = SteadyClock::now();
  info.app = -1;
  info.request_id.clear();

  if (s.closed) co_return;  // reset before it started
  if (!refresh_plan()) {
    respond_error(*this, s, 503, "this listener was removed by a reload", {});
    begin_shutdown();
    co_return;
  }
  auto wp = wp_;  // this request finishes with the plan it started under
  const Plan& plan = *wp->plan;
  const config::Frontend& fe = *fe_->cfg;

  http::RequestHead& req = sc.req;
  const char* reason = "";
  if (s.req.too_large) {
    respond_error(*this, s, 431, "request header fields too large", {});
    log(config::LogLevel::debug, "frontend " + fe.name + ": HTTP/2 request head too large from " + client_ip_);
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
  info.minor = 1;
  info.keep_alive = true;
  info.idempotent = http::is_idempotent(req.method);
  make_request_id(w_, req.headers, trusted_, info.request_id);
  if (w_.access_log().enabled()) {
    info.method = req.method;
    info.path = req.target;
    info.host = req.host;
  } else {
    info.method.clear(), info.path.clear(), info.host.clear();
  }
  auto log_it = [&](int status, uint64_t in, uint64_t out, std::string_view server, double up_ms, int retries,
                    std::string_view term) {
    log_request(w_, plan, fe, peer_, info, status, in, out, server, up_ms, retries, term, StatsProtocol::http2);
  };

  // The mesh load report, for the edges' probers (backhaul peers only).
  if (fe.backhaul && req.target == kLoadReportPath && req.method == "GET") {
    std::string body = build_load_report(plan, now_ms());
    std::string len = std::to_string(body.size());
    std::vector<nghttp2_nv> nv{make_nv(":status", "200"), make_nv("content-type", "text/plain"),
                               make_nv("content-length", len), make_nv("cache-control", "no-store")};
    respond(*this, s, nv, std::move(body));
    co_return;
  }
  RequestRoute route = route_request(plan, *fe_, peer_, req.host, req.headers, config::Mode::http,
                                     TlsOrigin{sock_.ssl(), tls_front_.get()});
  const int app = route.app;
  if (app < 0) {
    respond_error(*this, s, route.status, route.reason, info.request_id);
    log_it(route.status, 0, 0, {}, -1, 0, "no-app");
    co_return;
  }
  info.instance.assign(route.instance);
  info.app = app;
  const PlanApp& pa = plan.apps[app];
  const config::Backend& be = *plan.backends[pa.backend].cfg;
  if (pa.cfg->max_body_size && req.framing == Framing::content_length && req.content_length > pa.cfg->max_body_size) {
    respond_error(*this, s, 413, "request body exceeds max-body-size", info.request_id);
    log_it(413, 0, 0, {}, -1, 0, "body-too-large");
    co_return;
  }
  bool queued = false;
  const auto asked = SteadyClock::now();
  auto granted = co_await pa.budget->acquire(be.timeouts.queue, &queued);
  count_budget(w_, plan, app, granted, queued, asked);
  if (granted != BudgetResult::granted) {
    bool full = granted == BudgetResult::queue_full;
    respond_error(*this, s, 503, full ? "app concurrency limit reached (queue full)" : "app concurrency limit reached (queue timeout)",
                  info.request_id, true);
    log_it(503, 0, 0, {}, -1, 0, full ? "queue-full" : "queue-timeout");
    co_return;
  }
  struct Release {
    AppBudget& b;
    ~Release() { b.release(); }
  } release{*pa.budget};
  if (s.closed) {
    log_it(0, 0, 0, {}, -1, 0, "client-abort");
    co_return;
  }

  // A small body still arriving is awaited whole (within `timeout client`), so the request
  // can be replayed on another server or after an HTTP/2 server refused its stream.
  if (req.framing == Framing::content_length && req.content_length <= kReplayableBody && !req.expect_continue) {
    s.dl.arm(fe.timeouts.client);
    while (!s.req_end && !s.closed && s.req_body.size() < req.content_length && !s.dl.expired())
      co_await s.wake.wait();
    if (s.closed || s.dl.expired()) {
      log_it(0, s.req_body.size(), 0, {}, -1, 0, s.closed ? "client-abort" : "client-timeout");
      if (!s.closed) respond_error(*this, s, 408, "request body not received in time", info.request_id);
      co_return;
    }
  }
  std::string& head = sc.head;
  head.clear();
  http1::ForwardContext ctx{client_ip_, sock_.is_tls() ? "https" : "http", peer_.local_port, info.request_id, trusted_,
                           "2 ferry", plan.config->global.region, fe.backhaul};
  http1::build_upstream_request(req, ctx, head);
  // A body that has fully arrived can be replayed on another server.
  const bool replayable = req.framing == Framing::none ||
                          (req.framing == Framing::content_length && s.req_end && s.req_body.size() == req.content_length);
  std::string replay;
  if (replayable && req.framing == Framing::content_length) {
    replay.swap(s.req_body);
    give_back(*this, s, replay.size());
  }
  StreamDownstream down(*this, s, req.framing, req.expect_continue, pa.cfg->max_body_size, fe.timeouts.client,
                        be.timeouts.server);
  // A streamed body is teed (up to replay-max-body, within the worker's replay-buffer-budget)
  // in case the answer is a Ferry-Replay; apps without replay-max-body keep nothing.
  http1::BodyTee tee;
  const bool tee_on = !replayable && !fe.backhaul && pa.cfg->replay_max_body > 0;
  tee.max = pa.cfg->replay_max_body;
  tee.budget = &w_.replay_budget();  // the worker's, shared by all its requests
  if (tee_on) down.tee = &tee;
  // Client routing hints (allow-routing-hints): views into the stream's request fields.
  // On the backhaul, the instance the edge chose is the only target (a hosted one).
  RoutingHints hints = pa.cfg->allow_routing_hints && !fe.backhaul ? parse_client_hints(req.headers) : RoutingHints{};
  if (!info.instance.empty()) hints.force_instance = info.instance;
  Exchange x{w_, *wp, app, peer_, s.dl, s.up, sc.resp, sc.tried};
  if (!hints.empty()) x.hints = &hints;
  UpstreamRequest ur{head, replay, replayable, info.idempotent, req.method};
  co_await run_exchange(x, ur, down);
  explain_forced_hints(x);
  ReplayState rs;
  if (replay_requested(x, fe)) co_await follow_replays(x, ur, down, tee_on ? &tee : nullptr, app, rs);
  tee.release();  // the budget's bytes back as soon as the replays are done
  // After replays the answer may come from another app: its backend from here on.
  info.app = x.app;
  const auto& pb = plan.backends[plan.apps[x.app].backend];
  const config::Backend& xbe = *pb.cfg;
  const int retries = rs.total_retries(x);
  const char* const ok_term = rs.hops ? "replayed" : "";
  const uint64_t bytes_in = replay.size() + x.body.bytes;

  if (!x.body.ok()) {
    using E = BodyResult::Error;
    std::string_view srv = x.last >= 0 ? std::string_view(pb.servers[x.last].cfg->name) : std::string_view();
    int status = x.body.error == E::too_large ? 413
                 : x.body.error == E::write   ? 502
                 : x.body.error == E::write_timeout ? 504 : 0;
    if (status == 413) respond_error(*this, s, 413, "request body exceeds max-body-size", info.request_id);
    else if (status) respond_error(*this, s, status, "upstream failed while receiving the request body", info.request_id);
    const char* term = status == 413 ? "body-too-large"
                       : status       ? "upstream-body"
                       : x.body.error == E::read_timeout ? "client-timeout" : "client-abort";
    log_it(status, x.body.bytes, 0, srv, -1, retries, term);
    co_return;
  }
  if (x.abandoned) {
    log_it(0, bytes_in, 0, {}, -1, retries, "client-abort");
    co_return;
  }
  if (x.server < 0) {
    respond_error(*this, s, x.fail_status, x.fail_reason, info.request_id);
    log_it(x.fail_status, 0, 0, {}, -1, retries, rs.termination ? rs.termination : "no-response");
    co_return;
  }

  const config::Server& srv = *pb.servers[x.server].cfg;
  const double upstream_ms = ms_since(x.started);
  http::ResponseHead& resp = sc.resp;
  const int status = resp.status;
  if (resp.framing == Framing::tunnel) {  // 101 without an upgrade request
    s.up.reset();
    respond_error(*this, s, 502, "invalid response from upstream", info.request_id);
    log_it(502, bytes_in, 0, srv.name, upstream_ms, retries, "upstream-protocol");
    co_return;
  }
  if (s.closed) {
    s.up.reset();
    log_it(status, bytes_in, 0, srv.name, upstream_ms, retries, "client-abort");
    co_return;
  }
  std::string arena;
  std::vector<nghttp2_nv> nv;
  response_fields(resp, info.request_id, arena, nv);
  const Framing framing = resp.framing;
  const uint64_t length = resp.content_length;
  const bool up_keep = resp.keep_alive;
  s.up->buf.consume(resp.head_size);
  s.resp_submitted = true;
  s.resp_end = framing == Framing::none;
  // A response without a body is finished for the server: it stops counting against its
  // in-flight load before the client can see the answer (as in http1/exchange.cpp).
  if (s.resp_end) x.inflight.drop();
  nghttp2_data_provider p = provider(s);
  if (nghttp2_submit_response(ng_, s.id, nv.data(), nv.size(), s.resp_end ? nullptr : &p) != 0) {
    s.up.reset();
    nghttp2_submit_rst_stream(ng_, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_INTERNAL_ERROR);
    kick();
    log_it(status, bytes_in, 0, srv.name, upstream_ms, retries, "internal");
    co_return;
  }
  kick();

  uint64_t bytes_out = 0;
  if (framing != Framing::none) {
    auto pr = co_await pump_response(*this, s, *s.up, framing, length, xbe.timeouts.server, fe.timeouts.client, bytes_out);
    // Read in full (or failed): the server is done. The writer coroutine sends the queued end
    // of the body only after this, as it runs from a posted wake-up.
    x.inflight.drop();
    if (pr != PumpResult::ok) {
      s.up.reset();
      // The response is cut short: the client must not take it as complete.
      if (!s.closed) {
        nghttp2_submit_rst_stream(ng_, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_INTERNAL_ERROR);
        kick();
      }
      const char* term = pr == PumpResult::upstream_timeout ? "upstream-timeout"
                         : pr == PumpResult::upstream_error ? "upstream-abort"
                         : pr == PumpResult::client_timeout ? "client-timeout" : "client-abort";
      log_it(status, bytes_in, bytes_out, srv.name, upstream_ms, retries, term);
      co_return;
    }
  }
  if (up_keep && framing != Framing::until_close && srv.send_proxy == config::ProxyProtocol::none)
    w_.pool().put(std::move(s.up), xbe.pool_max_idle, xbe.pool_idle_timeout);
  else
    s.up.reset();
  log_it(status, bytes_in, bytes_out, srv.name, upstream_ms, retries, ok_term);
}

}  // namespace ferry::proxy::http2
