// Forwarding one request upstream: server choice, pooled connections, retries, request and
// response streaming, WebSocket upgrade. Part of http1::Session (session_impl.h).
#include <algorithm>

#include "error_pages.h"
#include "http1/body.h"
#include "http1/rewrite.h"
#include "http1/session_impl.h"
#include "log.h"
#include "request_common.h"
#include "routing/hints.h"
#include "tcp/tunnel.h"
#include "upstream/exchange.h"
#include "upstream/replay.h"

namespace ferry::proxy::http1 {
namespace {

constexpr size_t kBodyBufferSize = 64 * 1024;
// A request body up to this size that is still arriving is read whole before the request is
// sent, so that it can be replayed (another server, or a stream an HTTP/2 server refused).
constexpr uint64_t kReplayableBody = 8 * 1024;

double ms_since(SteadyClock::time_point t) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - t).count();
}

}  // namespace

awaitable<bool> Session::forward(http::RequestHead& req, RequestInfo& info) {
  const Plan& plan = *wp_->plan;
  const PlanApp& pa = plan.apps[info.app];  // the routed app (the answer's may differ: replay)
  const config::Frontend& fe = *fe_->cfg;

  // Serialise the upstream head now: the parsed views die once the buffer moves on.
  std::string& head = s_->head;  // borrowed scratch: keeps its capacity between requests
  head.clear();
  ForwardContext ctx{client_ip_, sock_.is_tls() ? "https" : "http", peer_.local_port, info.request_id, trusted_, {},
                     plan.config->global.region, fe.backhaul};
  std::string fallback;  // only for a request without a Host (HTTP/1.0): rare
  if (req.host.empty()) fallback = fallback_host(*pa.cfg, peer_);
  ctx.fallback_host = fallback;
  build_upstream_request(req, ctx, head);
  // Client routing hints (allow-routing-hints), copied: the head's views die below.
  // On the backhaul, the instance the edge chose is the only target (a hosted one).
  OwnedHints hints;
  if (pa.cfg->allow_routing_hints && !fe.backhaul) hints.assign(parse_client_hints(req.headers));
  RoutingHints hints_view = hints.view();
  if (!info.instance.empty()) hints_view.force_instance = info.instance;
  const http::Framing req_framing = req.framing;
  const bool upgrade = req.upgrade;
  std::string method(req.method);
  buf_.consume(req.head_size);
  if (req_framing == http::Framing::content_length && req.content_length <= kReplayableBody && !req.expect_continue) {
    dl_.arm(fe.timeouts.client);
    while (buf_.size() < req.content_length) {
      auto [ec, n] = co_await sock_.async_read_some(asio::buffer(buf_.space(), buf_.space_size()), use_nothrow);
      if (ec || n == 0) {
        log_request(info, 0, buf_.size(), 0, {}, -1, 0, dl_.expired() ? "client-timeout" : "client-abort");
        co_return false;
      }
      buf_.commit(n);
    }
  }
  // A body that is already complete in our buffer can be replayed on another server.
  const bool replayable = req_framing == http::Framing::none ||
                          (req_framing == http::Framing::content_length && buf_.size() >= req.content_length);
  const size_t replay_len = req_framing == http::Framing::content_length && replayable ? req.content_length : 0;

  // The rest of the body streams from our connection; 100-continue is sent first when the
  // client waits for it.
  struct Downstream final : ExchangeDownstream {
    Session& s;
    const PlanApp& pa;
    http::Framing framing;
    uint64_t length;
    bool expect;
    int minor;
    BodyTee* tee = nullptr;  // copy of the streamed body for a Ferry-Replay (null: none)
    Downstream(Session& s, const PlanApp& pa, const http::RequestHead& req)
        : s(s), pa(pa), framing(req.framing), length(req.content_length), expect(req.expect_continue), minor(req.minor) {}
    awaitable<BodyResult> send_body(UpstreamConn& up) override {
      const auto& fe = *s.fe_->cfg;
      if (expect && s.buf_.empty()) {
        static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
        s.dl_.arm(fe.timeouts.client);
        co_await asio::async_write(s.sock_, asio::buffer(cont), use_nothrow);
      }
      const auto& be = *s.wp_->plan->backends[pa.backend].cfg;
      BodyTransfer bt{&s.sock_, &s.buf_, framing, length, &up.sock, framing == http::Framing::chunked,
                      pa.cfg->max_body_size, &s.dl_, fe.timeouts.client, be.timeouts.server};
      bt.tee = tee;
      co_return co_await transfer_body(bt);
    }
    // 103 Early Hints goes on to HTTP/1.1 clients; other 1xx stop here.
    awaitable<void> interim(const http::ResponseHead& r, std::string_view raw) override {
      if (r.status != 103 || minor < 1) co_return;
      s.dl_.arm(s.fe_->cfg->timeouts.client);
      co_await asio::async_write(s.sock_, asio::buffer(raw), use_nothrow);
    }
  } down(*this, pa, req);

  // A streamed body is teed (up to replay-max-body, within the worker's replay-buffer-budget)
  // in case the answer is a Ferry-Replay; apps without replay-max-body keep nothing.
  BodyTee tee;
  const bool tee_on = !replayable && !fe.backhaul && pa.cfg->replay_max_body > 0;
  tee.max = pa.cfg->replay_max_body;
  tee.budget = &w_.replay_budget();  // the worker's, shared by all its requests
  if (tee_on) down.tee = &tee;
  Exchange x{w_, *wp_, info.app, peer_, dl_, up_, s_->resp, s_->tried};
  if (!hints_view.empty()) x.hints = &hints_view;
  UpstreamRequest ur{head, buf_.data().substr(0, replay_len), replayable, info.idempotent, method, upgrade};
  co_await run_exchange(x, ur, down);
  explain_forced_hints(x);
  ReplayState rs;
  if (replay_requested(x, fe)) co_await follow_replays(x, ur, down, tee_on ? &tee : nullptr, info.app, rs);
  tee.release();  // the budget's bytes back as soon as the replays are done
  // After replays the answer may come from another app: its backend from here on.
  info.app = x.app;
  const PlanBackend& xpb = plan.backends[plan.apps[x.app].backend];
  const config::Backend& xbe = *xpb.cfg;
  const int attempt = rs.total_retries(x);
  const char* const ok_term = rs.hops ? "replayed" : "";
  const uint64_t body_streamed = x.body.bytes;

  if (!x.body.ok()) {
    using E = BodyResult::Error;
    const auto& br = x.body;
    std::string_view srv_name = x.last >= 0 ? std::string_view(xpb.servers[x.last].cfg->name) : std::string_view();
    double up_ms = ms_since(x.started);
    if (br.error == E::too_large) {
      co_await send_error(413, "request body exceeds max-body-size", true);
      log_request(info, 413, br.bytes, 0, srv_name, up_ms, attempt, "body-too-large");
    } else if (br.error == E::malformed) {
      co_await send_error(400, "malformed chunked request body", true);
      log_request(info, 400, br.bytes, 0, srv_name, up_ms, attempt, "bad-body");
    } else if (br.error == E::write || br.error == E::write_timeout) {
      co_await send_error(br.error == E::write ? 502 : 504, "upstream failed while receiving the request body", true);
      log_request(info, br.error == E::write ? 502 : 504, br.bytes, 0, srv_name, up_ms, attempt, "upstream-body");
    } else {
      log_request(info, 0, br.bytes, 0, srv_name, -1, attempt,
                  br.error == E::read_timeout ? "client-timeout" : "client-abort");
    }
    co_return false;
  }
  if (x.server < 0) {
    const bool body_sent = x.body_sent;
    if (replay_len) buf_.consume(replay_len);  // the next request starts after this body
    co_await send_error(x.fail_status, x.fail_reason, body_sent || !replayable || !info.keep_alive);
    log_request(info, x.fail_status, 0, 0, {}, -1, attempt, rs.termination ? rs.termination : "no-response");
    co_return !body_sent && replayable && info.keep_alive;
  }

  const int chosen = x.server;
  http::ResponseHead& resp = s_->resp;
  const config::Server& srv = *xpb.servers[chosen].cfg;
  double upstream_ms = ms_since(x.started);
  if (replay_len) buf_.consume(replay_len);
  uint64_t bytes_in = replay_len + body_streamed;

  ResponseBodyOut body_out = choose_body_out(resp, info.minor);
  if (body_out == ResponseBodyOut::tunnel && !upgrade) body_out = ResponseBodyOut::until_close;
  bool keep = info.keep_alive && !w_.draining() && body_out != ResponseBodyOut::until_close &&
              body_out != ResponseBodyOut::tunnel;
  s_->out.clear();
  build_downstream_response(resp, body_out, keep, info.minor, info.request_id, s_->out);
  const int status = resp.status;
  const http::Framing resp_framing = resp.framing;
  const uint64_t resp_length = resp.content_length;
  const bool up_keep = resp.keep_alive;
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
  auto [hec, hn] = co_await asio::async_write(sock_, head_bufs, use_nothrow);
  up_->buf.consume(early);
  if (hec) {
    up_.reset();
    log_request(info, status, bytes_in, 0, srv.name, upstream_ms, attempt, "client-abort");
    co_return false;
  }

  if (body_out == ResponseBodyOut::tunnel) {
    dl_.disarm();
    tunneling_ = true;  // a backhaul revocation (reload) cuts it
    auto tr = co_await run_tunnel(sock_, buf_, up_->sock, up_->buf, tunnel_idle_limit(fe.timeouts.tunnel, xbe.timeouts.tunnel));
    tunneling_ = false;
    up_.reset();
    log_request(info, status, bytes_in + tr.a_to_b, tr.b_to_a, srv.name, upstream_ms, attempt,
                tr.idle_timeout ? "tunnel-timeout" : ok_term);
    co_return false;
  }

  uint64_t bytes_out = early;
  if (resp_framing != http::Framing::none && !(resp_framing == http::Framing::content_length && early == resp_length)) {
    // A body larger than the 16 KiB block moves in 64 KiB reads: 4x fewer syscalls and
    // wake-ups per response. Known large (Content-Length): grown now. Unknown (chunked, until
    // close): grown once a read fills the block, so small ones never allocate it. The grown
    // buffer is freed when the connection goes idle.
    if (resp_framing == http::Framing::content_length && resp_length - early > up_->buf.capacity())
      up_->buf.reserve(kBodyBufferSize);
    BodyTransfer bt{&up_->sock, &up_->buf, resp_framing, resp_length - early, &sock_,
                    body_out == ResponseBodyOut::chunked, 0, &dl_, xbe.timeouts.server, fe.timeouts.client,
                    kBodyBufferSize};
    bt.on_source_end = [&x] { x.inflight.drop(); };
    auto br = co_await transfer_body(bt);
    x.inflight.drop();
    bytes_out += br.bytes;
    if (!br.ok()) {
      using E = BodyResult::Error;
      const char* term = br.error == E::read_timeout ? "upstream-timeout"
                         : br.error == E::read || br.error == E::malformed ? "upstream-abort"
                         : br.error == E::write_timeout ? "client-timeout" : "client-abort";
      up_.reset();
      log_request(info, status, bytes_in, bytes_out, srv.name, upstream_ms, attempt, term);
      co_return false;  // the response is cut short: the client must see the connection end
    }
  }
  // A connection that started with a PROXY header speaks for one client only: never shared.
  if (up_keep && resp_framing != http::Framing::until_close && srv.send_proxy == config::ProxyProtocol::none)
    w_.pool().put(std::move(up_), xbe.pool_max_idle, xbe.pool_idle_timeout);
  else
    up_.reset();
  log_request(info, status, bytes_in, bytes_out, srv.name, upstream_ms, attempt, ok_term);
  co_return keep;
}

}  // namespace ferry::proxy::http1
