#include "session/http1_session.h"

#include <asio/bind_executor.hpp>
#include <cstring>
#include <tuple>

// g++ 12 -O2 pairs asio's awaitable-frame operator delete with the wrong operator new in
// lingering_close() and warns (-Wmismatched-new-delete); asio allocates and frees frames with
// its own matching pair (ASan's alloc-dealloc-mismatch check passes), so this is a false
// positive, silenced for this file only.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include "http/error_pages.h"
#include "http/fields.h"
#include "http1/request_parser.h"
#include "log/log.h"
#include "net/proxy_protocol.h"
#include "request/pipeline.h"
#include "routing/request_route.h"
#include "session/h2_session.h"
#include "session/http1_session_impl.h"
#include "tcp/tcp_session.h"
#include "tls/acme_challenges.h"
#include "tls/handshake_failure.h"
#include "tls/server_context.h"

namespace ferry::proxy {

void start_http1_session(WorkerContext& w, tcp::socket sock, const PeerInfo& peer, std::shared_ptr<WorkerPlan> wp,
                         std::string key) {
  http1::Session::serve(std::make_shared<http1::Session>(w, std::move(sock), peer, std::move(wp), std::move(key)), false);
}

}  // namespace ferry::proxy

namespace ferry::proxy::http1 {

Session::Session(WorkerContext& w, tcp::socket sock, const PeerInfo& peer, std::shared_ptr<WorkerPlan> wp,
                 std::string key)
    : DownstreamConn(w, Stream(std::move(sock)), std::move(wp), std::move(key)),
      buf_(BlockPool::kBlockSize, &w.blocks()),
      dl_(sock_.get_executor(), [this] { cancel_all(); }) {
  const auto& ref = wp_->plan->binds.at(key_);  // the worker checked it exists
  fe_ = &wp_->plan->frontends[ref.frontend];
  bind_ = ref.bind;
  handle_.stream = &sock_;
  w_.add_session(&handle_);
  fe_->stats->opened(w_.id());
  peer_ = peer;
  if (fe_->cfg->backhaul) {
    // A reload that takes the peer out of every allowed-ips: an idle connection (or a tunnel)
    // closes at once, a request in flight is answered and then the connection closes.
    handle_.backhaul_peer = &peer_.socket;
    handle_.listener = &key_;
    handle_.owner = this;
    handle_.on_revoke = [](void* p) {
      auto* s = static_cast<Session*>(p);
      s->revoked_ = true;
      if (s->handle_.idle || s->tunneling_) s->cancel_all();
    };
  }
}

Session::~Session() {
  fe_->stats->closed(w_.id());  // fe_ is in wp_->plan, still alive here
  w_.remove_session(&handle_);
  w_.give_scratch(std::move(s_));
  w_.count_connection(-1);
}

void Session::serve(std::shared_ptr<Session> s, bool resumed) {
  Session& self = *s;
  // The completion handler holds `s` for as long as the coroutine exists (also when the
  // io_context is destroyed with it pending), so run() never outlives its session.
  asio::co_spawn(self.w_.io(), self.run(resumed), [s = std::move(s)](std::exception_ptr e, Outcome o) mutable {
    if (e) log(config::LogLevel::error, "HTTP session ended with an exception");
    else if (o == Outcome::parked) park(std::move(s));
  });
}

void Session::park(std::shared_ptr<Session> s) {
  Session& self = *s;
  // A drain that began after run() finished but before this handler ran did not see the
  // connection as idle; close it here rather than wait out the keep-alive timeout.
  if (self.w_.draining()) return;
  self.buf_.release_if_empty();
  self.w_.give_scratch(std::move(self.s_));
  self.handle_.idle = true;
  self.dl_.arm(self.fe_->cfg->timeouts.http_keep_alive);
  if (!self.sock_.is_tls()) return read_parked(std::move(s));
  // TLS: a read that finds nothing waits for readiness, which costs asio an epoll_ctl; a
  // client that answers quickly often has its next request here after the other ready
  // connections ran, so the read is tried then. A drain, a revocation or the keep-alive
  // timeout in between found nothing to cancel: they are checked here.
  asio::post(self.w_.io(), [s = std::move(s)]() mutable {
    if (!s->w_.draining() && !s->revoked_ && !s->dl_.expired()) read_parked(std::move(s));
  });
}

void Session::read_parked(std::shared_ptr<Session> s) {
  Session& self = *s;
  // A read, not a readiness wait: asio re-arms epoll (epoll_ctl) for every wait, while a read
  // on a socket marked drained (read_done) just queues until the next EPOLLIN edge.
  // Bound to the io_context's own executor type: the pending operation then tracks one
  // pointer-sized executor rather than a second any_io_executor (it exists per idle connection).
  auto& io = self.w_.io();
  self.sock_.watch_hangup();  // a keep-alive connection: read_done may mark it from now on
  self.sock_.async_read_some(asio::buffer(self.first_),
                             asio::bind_executor(io.get_executor(), [s = std::move(s)](std::error_code ec, size_t n) mutable {
                               // Timeout, drain, close or error: `s` dies here, closing the connection.
                               if (ec || n == 0) return;
                               s->sock_.read_done(n, s->first_.size());  // a parked socket has no other operation
                               s->handle_.idle = false;
                               s->first_len_ = n;
                               serve(std::move(s), true);
                             }));
}

void Session::cancel_all() {
  sock_.cancel();
  if (up_) up_->sock.cancel();
}

awaitable<bool> Session::start_tls() {
  const config::Frontend& fe = *fe_->cfg;
  SSL* ssl = fe_->tls ? SSL_new(fe_->tls.get()) : nullptr;
  if (!ssl) {
    log(config::LogLevel::error, "frontend " + fe.name + ": cannot start TLS (no context or out of memory)");
    co_return false;
  }
  // Bytes after a PROXY header are the start of the TLS stream.
  std::string prefix(buf_.data());
  buf_.consume(buf_.size());
  tls_front_ = fe_->tls;
  sock_.start_server_tls(ssl, std::move(prefix));
  handle_.idle = true;  // no request yet: a drain may close it
  dl_.arm(fe.timeouts.http_request);
  std::error_code ec = co_await sock_.handshake();
  handle_.idle = false;
  if (ec) {
    fe_->stats->tls_failed(w_.id(), static_cast<int>(tls::classify_handshake_failure(ec, dl_.expired())));
    log(config::LogLevel::debug, "frontend " + fe.name + ": TLS handshake with " + format_ip(&peer_.client) +
                                     " failed: " + (dl_.expired() ? std::string("timeout") : ec.message()));
    co_return false;
  }
  fe_->stats->tls_ok(w_.id());
  // An ACME TLS-ALPN-01 validation: the handshake was the answer; no HTTP on acme-tls/1.
  if (tls::negotiated_alpn(sock_.ssl()) == tls::kAcmeTlsAlpn) {
    log(config::LogLevel::info, "frontend " + fe.name + ": answered an ACME tls-alpn-01 validation from " +
                                    format_ip(&peer_.client));
    co_return false;
  }
  if (log_enabled(config::LogLevel::debug))
    log(config::LogLevel::debug, "frontend " + fe.name + ": TLS " + SSL_get_version(sock_.ssl()) + " from " +
                                     format_ip(&peer_.client) + (SSL_session_reused(sock_.ssl()) ? " (resumed)" : ""));
  co_return true;
}

awaitable<Session::Outcome> Session::run(bool resumed) {
  const config::Frontend& fe = *fe_->cfg;
  // The backhaul serves mesh peers only: a source outside every peer's allowed-ips (the real
  // socket address, before any PROXY header) is refused before reading anything.
  if (!resumed && fe.backhaul && !fe_->trusted.contains(peer_.socket)) {
    fe_->stats->refused(w_.id());
    log_refused("backhaul: refused a connection from " + format_ip(&peer_.socket) +
                " (not in any mesh peer's allowed-ips)");
    co_return Outcome::closed;
  }
  if (!resumed && fe.binds[bind_].accept_proxy) {
    // Only listed senders may claim another client address; others are closed unread.
    if (!proxy_sender_allowed(fe_->proxy_senders, peer_, fe.name)) {
      fe_->stats->refused(w_.id());
      co_return Outcome::closed;
    }
    dl_.arm(fe.timeouts.http_request);
    if (!co_await read_proxy_header(sock_.socket(), buf_, peer_)) {
      log(config::LogLevel::debug, "frontend " + fe.name + ": invalid or missing PROXY header, closing");
      co_return Outcome::closed;
    }
  }
  if (!resumed && fe.binds[bind_].tls && !co_await start_tls()) co_return Outcome::closed;
  if (!resumed) {
    client_ip_ = format_ip(&peer_.client);
    trusted_ = fe_->trusts(peer_.socket, peer_.client);  // the real peer decides (plan.h)
  }
  if (!resumed && sock_.is_tls() && tls::negotiated_alpn(sock_.ssl()) == "h2") {
    dl_.disarm();
    start_http2_session(w_, std::move(sock_), wp_, key_, peer_, {});
    co_return Outcome::closed;
  }

  bool drain = true;  // the close after the last response waits for the client's FIN
  for (bool first = !resumed;; first = false, resumed = false) {
    auto h = co_await read_head(first, resumed);
    if (h == HeadResult::park) co_return Outcome::parked;
    if (h == HeadResult::h2) {  // h2c with prior knowledge
      dl_.disarm();
      std::string received(buf_.data());
      buf_.consume(buf_.size());
      start_http2_session(w_, std::move(sock_), wp_, key_, peer_, received);
      co_return Outcome::closed;
    }
    if (h == HeadResult::backhaul_tcp) {
      co_await start_backhaul_tcp();
      co_return Outcome::closed;
    }
    if (h != HeadResult::ok) co_return Outcome::closed;
    if (!refresh_plan()) {
      // A backhaul peer a reload no longer trusts gets nothing more on this connection.
      if (!revoked_) co_await write_error(503, "this listener was removed by a reload", true);
      co_return Outcome::closed;
    }
    http::RequestHead& req = s_->req;
    head_pending_ = true;
    head_size_ = req.head_size;
    framing_ = req.framing;
    length_ = req.content_length;
    expect_ = req.expect_continue;
    minor_ = req.minor;
    complete_len_ = 0;
    const bool keep = co_await run_request(*this, req, *s_);
    head_done();  // answered before the pipeline needed the body: the next head follows
    if (!keep) {
      // The client itself asked to close after this request, which had no body and nothing
      // after it: it sends no more (RFC 9112 §9.6), so no reset can destroy the response and
      // the connection closes at once, without waiting for the client's FIN.
      drain = s_->info.keep_alive || framing_ != http::Framing::none || !buf_.empty();
      break;
    }
    if (w_.draining() || revoked_) break;
  }
  co_await lingering_close(drain);
  co_return Outcome::closed;
}

awaitable<Session::HeadResult> Session::read_head(bool first, bool resumed) {
  const config::Frontend& fe = *fe_->cfg;
  Limits limits{fe.limits.max_request_line, fe.limits.max_header_size, fe.limits.max_headers};
  // h2c with prior knowledge: the first bytes of a plain connection (also right after a
  // PROXY header, whose read may have brought them) start like the preface.
  auto may_be_h2c = [&] {
    return first && !sock_.is_tls() && !buf_.empty() &&
           kClientPreface.starts_with(buf_.data().substr(0, kClientPreface.size()));
  };
  if (may_be_h2c()) co_return co_await read_preface();
  if (buf_.empty()) {
    // Idle between requests: the keep-alive timeout applies; drain may close us here.
    if (w_.draining()) co_return HeadResult::close;
    if (!first && !resumed) co_return HeadResult::park;  // wait without a coroutine frame
    size_t n = first_len_;  // resumed: park() already read these
    first_len_ = 0;
    if (first) {
      // A new connection: its first bytes (within http-request) land in first_, so it holds
      // no buffer block while nothing has arrived.
      handle_.idle = true;
      dl_.arm(fe.timeouts.http_request);
      auto [ec, got] = co_await sock_.async_read_some(asio::buffer(first_), use_nothrow);
      handle_.idle = false;
      sock_.read_done(got, first_.size());  // nothing else runs on the socket before a request
      if (ec || got == 0) {
        if (ec && dl_.expired()) co_await write_error(408, "no request received in time", true);
        co_return HeadResult::close;
      }
      n = got;
    }
    std::memcpy(buf_.space(), first_.data(), n);  // an empty buffer has a whole block of space
    buf_.commit(n);
    if (may_be_h2c()) co_return co_await read_preface();
    // A PROXY v2 signature starts with CR: never an HTTP request's first byte.
    if (first && fe.backhaul && buf_.data()[0] == '\r') co_return HeadResult::backhaul_tcp;
  }
  // The whole head must arrive within `timeout http-request` of its first byte (slowloris).
  dl_.arm(fe.timeouts.http_request);
  if (!s_) s_ = w_.take_scratch();
  s_->info.request_id.clear();  // error pages before routing carry no id
  http::RequestHead& req = s_->req;
  bool reparse = true;
  for (;;) {
    // Re-parse only when a line may have completed (or the request-line limit may fire), so
    // a byte-at-a-time sender cannot make us rescan a large head for every byte.
    auto r = reparse ? parse_request(buf_.data(), limits, req) : ParseResult{};
    if (r.status == ParseStatus::complete) co_return HeadResult::ok;
    if (r.status == ParseStatus::error) {
      log(config::LogLevel::debug, "frontend " + fe.name + ": bad request from " + client_ip_ + ": " + r.reason);
      co_await write_error(r.http_status, r.reason, true);
      co_return HeadResult::close;
    }
    if (buf_.space_size() == 0) {
      // Limits are enforced on partial input, so growing up to them always terminates.
      buf_.reserve(std::max<size_t>(buf_.capacity() * 2, limits.max_header_size + 1024));
      if (buf_.space_size() == 0) {
        co_await write_error(431, "request head too large", true);
        co_return HeadResult::close;
      }
    }
    const size_t asked = buf_.space_size();
    auto [ec, n] = co_await sock_.async_read_some(asio::buffer(buf_.space(), asked), use_nothrow);
    sock_.read_done(n, asked);
    if (ec || n == 0) {
      if (ec && dl_.expired()) co_await write_error(408, "request head not received in time", true);
      co_return HeadResult::close;
    }
    std::string_view fresh(buf_.space(), n);
    reparse = fresh.find('\n') != std::string_view::npos || buf_.size() + n > limits.max_request_line;
    buf_.commit(n);
  }
}

awaitable<void> Session::write_error(int status, std::string_view detail, bool close, std::string_view extra) {
  std::string page = error_response(status, detail, s_ ? std::string_view(s_->info.request_id) : std::string_view(), close, extra);
  dl_.arm(fe_->cfg->timeouts.client);
  co_await asio::async_write(sock_, asio::buffer(page), use_nothrow);
  if (close) co_await lingering_close();
}

awaitable<void> Session::lingering_close(bool drain) {
  // Half-close (after TLS close_notify), then read and discard what the client still sends
  // for a short while so that our last response is not destroyed by a TCP reset.
  if (!sock_.is_open()) co_return;
  // One 500 ms budget for both steps: TLS's shutdown waits for the client's close_notify, and
  // once the deadline fired nothing cancels further reads, so stop there.
  dl_.arm(std::chrono::milliseconds(500));
  // Without the drain, a plain socket's close() alone sends the FIN after the queued response
  // (nothing unread: not a reset); TLS still sends its close_notify first.
  if (drain || sock_.is_tls()) co_await sock_.shutdown_send();
  size_t drained = 0;
  char junk[4096];
  while (drain && !dl_.expired() && drained < 256 * 1024) {
    auto [ec, n] = co_await sock_.async_read_some(asio::buffer(junk), use_nothrow);
    if (ec || n == 0) break;
    drained += n;
  }
  sock_.close();
}

awaitable<void> Session::start_backhaul_tcp() {
  std::string tlv, app_name, instance;
  const Plan& plan = *wp_->plan;
  // The co_await stays out of the ||: with g++ 12.2 -O2, `!co_await read_proxy_header(...) ||
  // ...` took the branch although the header had been read (tlv set, buffer consumed) and
  // parse_ferry_tlv was never called, so every backhaul TCP connection was refused.
  const bool have_header = co_await read_proxy_header(sock_.socket(), buf_, peer_, &tlv);
  if (!have_header || !pp::parse_ferry_tlv(tlv, app_name, instance)) {
    log(config::LogLevel::warning, "backhaul: invalid PROXY header or Ferry TLV from " + client_ip_ + ", closing");
    co_return;
  }
  dl_.disarm();
  // The same checks as for HTTP metadata: a known app, an instance hosted here.
  http::Header hs[2] = {{"Ferry-App", app_name}, {"Ferry-Instance", instance}};
  RequestRoute route = route_request(plan, *fe_, peer_, {}, std::vector<http::Header>(hs, hs + 2), config::Mode::tcp);
  if (route.app < 0) {
    log(config::LogLevel::warning, "backhaul: TCP connection from " + client_ip_ + " refused: " + route.reason);
    co_return;
  }
  std::string pending(buf_.data());
  buf_.consume(buf_.size());
  const int frontend = static_cast<int>(fe_ - plan.frontends.data());
  auto& w = w_;
  w.count_connection(1);  // this session's count ends with it
  asio::co_spawn(w.io(), run_backhaul_tcp(w, std::move(sock_), std::move(pending), wp_, frontend, key_, peer_, route.app, instance),
                 [&w](std::exception_ptr e) {
                   w.count_connection(-1);
                   if (e) log(config::LogLevel::error, "backhaul TCP session ended with an exception");
                 });
}

awaitable<Session::HeadResult> Session::read_preface() {
  // The first bytes match the HTTP/2 preface so far: read until it is complete (or proven
  // not to be one; then it is parsed as HTTP/1 and fails there).
  while (buf_.size() < kClientPreface.size()) {
    auto [ec, n] = co_await sock_.async_read_some(asio::buffer(buf_.space(), buf_.space_size()), use_nothrow);
    if (ec || n == 0) co_return HeadResult::close;
    buf_.commit(n);
    if (!kClientPreface.starts_with(buf_.data().substr(0, kClientPreface.size()))) break;
  }
  if (buf_.data().starts_with(kClientPreface)) co_return HeadResult::h2;
  co_return co_await read_head(false, false);
}

}  // namespace ferry::proxy::http1
