#include "upstream/exchange.h"

#include <algorithm>
#include <array>

#include "log.h"
#include "runtime/peer_state.h"
#include "upstream/h2_upstream.h"
#include "upstream/http1_conn.h"

namespace ferry::proxy {

awaitable<void> ExchangeDownstream::interim(const http::ResponseHead&) { co_return; }

namespace {

// What one attempt came to: the server answered, try again (another server or a fresh
// connection), or give up with x.fail_status/x.fail_reason.
enum class Next { answered, retry, stop };

// The final response head of one attempt, interim 1xx answers passed to the downstream.
struct HeadOutcome {
  int error = 0;  // 0: x.resp holds a final head; 502 invalid; 504 timeout; -1 closed first
  bool got_bytes = false;
  bool refused = false;  // closed: the server refused the stream unprocessed
};

// The steps of one run_exchange call over the plan's view of the app's backend; run_exchange
// is the attempt loop (one coroutine frame less per request than a loop in here). Lives on
// run_exchange's frame; every reference is the caller's (see Exchange).
class ExchangeRun {
 public:
  ExchangeRun(Exchange& x, const UpstreamRequest& req, ExchangeDownstream& down)
      : x_(x), req_(req), down_(down), pa_(x.wp.plan->apps[x.app]), pb_(x.wp.plan->backends[pa_.backend]),
        be_(*pb_.cfg) {
    nreq_ = std::min(req.extra.size(), extra_.size() - 2);
    std::copy_n(req.extra.begin(), nreq_, extra_.begin());
  }

  // A failure that the client's own abandonment caused ends the exchange with no blame on
  // the server and no retry.
  bool gone() {
    if (!down_.abandoned()) return false;
    x_.up.reset();
    x_.abandoned = true;
    x_.fail_reason = "client went away";
    return true;
  }

  // One attempt on server `i`: connect or take a connection, send the head (and the body),
  // read the final response head, and judge it.
  awaitable<Next> attempt(int i) {
    ServerState& st = *pb_.servers[i].state;
    x_.last = i;
    if (x_.attempts > 0) st.retries.fetch_add(1, std::memory_order_relaxed);
    x_.inflight.take(&st);
    x_.started = SteadyClock::now();

    bool reused = false;
    const std::error_code ec = co_await open(i, reused);
    if (ec && gone()) co_return Next::stop;
    if (ec) {
      connect_failed(i, ec);
      co_return Next::retry;
    }

    // The head, plus the body bytes we already have, in one write. A request for an instance
    // on another node names the app and the instance for the hosting node (backhaul metadata).
    size_t nextra = nreq_;
    if (pb_.servers[i].peer) {
      extra_[nextra++] = {"Ferry-App", pa_.cfg->name};
      extra_[nextra++] = {"Ferry-Instance", pb_.servers[i].cfg->name};
    }
    x_.dl.arm(be_.timeouts.server);
    const auto wec = co_await x_.up->send_head(req_.head, std::span(extra_.data(), nextra), req_.body, req_.replayable);
    if (wec && gone()) co_return Next::stop;
    if (wec) co_return sent_failed(i, reused, wec);
    if (!req_.replayable) {
      x_.body_sent = true;
      x_.body = co_await down_.send_body(*x_.up);
      if (!x_.body.ok()) {
        x_.up.reset();
        co_return Next::stop;
      }
    }
    const HeadOutcome h = co_await read_final_head();
    co_return judge(i, reused, h);
  }

  // The answering server's success (or 5xx failure) and response count.
  void record_outcome() {
    if (x_.server < 0) {
      x_.inflight.drop();
      return;
    }
    ServerState& st = *pb_.servers[x_.server].state;
    if (x_.resp.status >= 500) st.record_failure(be_.passive, now_ms());
    else
      st.record_success(static_cast<uint32_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - x_.started).count()));
    st.responses.fetch_add(1, std::memory_order_relaxed);
  }

 private:
  // The attempt failed on a connection that had served before (a pooled one the server
  // closed, a backhaul to a node that just died): one such retry is free. A fresh one: the
  // server failed, and is not tried again.
  void blame(int i, bool reused) {
    if (!reused) {
      x_.tried[i] = true;
      pb_.servers[i].state->record_failure(be_.passive, now_ms());
    } else if (x_.free_retries == 0) {
      x_.free_retries = 1;
    }
  }

  // A stream on a shared HTTP/2 connection (opened when none has room), a pooled connection,
  // or a new one, into x.up. An Upgrade to a remote instance crosses the backhaul on a TCP
  // connection of its own (HTTP/1.1 to the hosting node, which routes it by its
  // Ferry-App/Ferry-Instance fields).
  awaitable<std::error_code> open(int i, bool& reused) {
    const config::Server& srv = *pb_.servers[i].cfg;
    const auto& ep = x_.wp.endpoints[pa_.backend][i];
    auto& up = x_.up;
    const bool h2 = srv.proto != config::UpstreamProto::http1 && !(req_.upgrade && pb_.servers[i].peer);
    up = h2 ? nullptr : x_.w.pool().take(pb_.servers[i].state);
    reused = up != nullptr;
    if (h2) {
      // A remote instance's requests share its peer's backhaul connections.
      const PeerState* peer = pb_.servers[i].peer;
      H2Upstreams::Target t{peer ? peer->backhaul : pb_.states[i], ep, pb_.tls[i].get(),
                            srv.sni.empty() ? ep.address().to_string() : srv.sni, srv.verify};
      co_return co_await x_.w.h2_upstreams().open(t, be_.timeouts.connect, be_.pool_idle_timeout, up, reused);
    }
    if (up) co_return std::error_code{};
    up = std::make_unique<Http1Upstream>(x_.w.io().get_executor(), &x_.w.blocks());
    up->server = pb_.states[i];
    std::error_code ec = co_await connect_with_timeout(up->sock.socket(), ep, be_.timeouts.connect);
    if (!ec) ec = co_await write_proxy_header(up->sock.socket(), srv.send_proxy, x_.peer);
    co_return ec;
  }

  void connect_failed(int i, const std::error_code& ec) {
    ServerState& st = *pb_.servers[i].state;
    const config::Server& srv = *pb_.servers[i].cfg;
    x_.up.reset();
    x_.tried[i] = true;
    // The peer's backhaul did not take the connection: none of its instances can answer
    // this request, so the retries go to other nodes (not spent on the same dead peer).
    if (const PeerState* dead = pb_.servers[i].peer)
      for (size_t k = 0; k < pb_.servers.size(); ++k)
        if (pb_.servers[k].peer == dead) x_.tried[k] = true;
    st.connect_errors.fetch_add(1, std::memory_order_relaxed);
    if (st.record_failure(be_.passive, now_ms()))
      log(config::LogLevel::warning, "server " + be_.name + "/" + srv.name + " ejected after consecutive failures");
    log(config::LogLevel::debug, "connect to " + be_.name + "/" + srv.name + " failed: " + ec.message());
    x_.fail_reason = "could not connect to any server";
  }

  // Writing the head failed. An HTTP/2 stream the server refused (REFUSED_STREAM, or above its
  // GOAWAY's last id) was not processed (RFC 9113 §8.7): no failure of the server, and safe to
  // send again.
  Next sent_failed(int i, bool reused, const std::error_code& wec) {
    x_.up.reset();
    if (reused || wec != asio::error::connection_refused) blame(i, reused);
    if (x_.dl.expired()) {
      x_.fail_status = 504, x_.fail_reason = "upstream did not accept the request in time";
      return Next::stop;
    }
    x_.fail_status = 502, x_.fail_reason = "upstream connection failed while sending the request";
    return Next::retry;
  }

  // The response head, skipping interim 1xx responses (the downstream may forward them).
  awaitable<HeadOutcome> read_final_head() {
    HeadOutcome h;
    for (;;) {
      const HeadRead r = co_await x_.up->read_head(x_.resp, req_.method, x_.dl, be_.timeouts.server);
      h.got_bytes = h.got_bytes || r.got_bytes;
      if (r.status != HeadRead::Status::complete) {
        h.error = r.status == HeadRead::Status::invalid ? 502 : r.status == HeadRead::Status::timeout ? 504 : -1;
        h.refused = r.refused;
        co_return h;
      }
      const int status = x_.resp.status;
      if (status >= 100 && status < 200 && status != 101) {
        co_await down_.interim(x_.resp);
        x_.up->buf.consume(x_.resp.head_size);
        continue;
      }
      // Only a 101 answer to a request that asked for an upgrade switches the connection to
      // a tunnel (RFC 9110 §15.2.2); any other 101 is an invalid response.
      if (status == 101 && !req_.upgrade) h.error = 502;
      co_return h;
    }
  }

  // Whether the attempt's response (or its lack) answers the request.
  Next judge(int i, bool reused, const HeadOutcome& h) {
    ServerState& st = *pb_.servers[i].state;
    // A hosting node that does not host the instance (configs out of step during a rollout)
    // did not process the request (421, RFC 9110 §15.5.20): another instance may take it.
    if (h.error == 0 && x_.resp.status == 421 && pb_.servers[i].peer && req_.replayable) {
      x_.up.reset();
      x_.tried[i] = true;
      st.record_failure(be_.passive, now_ms());
      const config::Server& srv = *pb_.servers[i].cfg;
      log(config::LogLevel::warning,
          "server " + be_.name + "/" + srv.name + ": node '" + srv.node + "' does not host it (421 over the backhaul)");
      x_.fail_status = 502, x_.fail_reason = "the instance's node does not host it";
      return Next::retry;
    }
    if (h.error == 0) return Next::answered;
    if (gone()) return Next::stop;
    x_.up.reset();
    if (h.error == 504) {
      st.record_failure(be_.passive, now_ms());
      x_.fail_status = 504, x_.fail_reason = "upstream did not answer in time";
      return Next::stop;
    }
    if (h.error == 502 || h.got_bytes) {
      st.record_failure(be_.passive, now_ms());
      x_.fail_status = 502, x_.fail_reason = "invalid response from upstream";
      return Next::stop;
    }
    if (h.refused && req_.replayable) {
      x_.fail_status = 502, x_.fail_reason = "upstream refused the request";
      return Next::retry;  // not processed (RFC 9113 §8.7): any method may go again
    }
    // Closed or reset before any response byte. A reused pooled connection may simply have
    // been closed by the server; otherwise the server failed. The request bytes were sent,
    // so only an idempotent request with a replayable body may go elsewhere (RFC 9110 §9.2.2).
    blame(i, reused);
    x_.fail_status = 502, x_.fail_reason = "upstream closed the connection without a response";
    return req_.replayable && req_.idempotent ? Next::retry : Next::stop;
  }

  Exchange& x_;
  const UpstreamRequest& req_;
  ExchangeDownstream& down_;
  const PlanApp& pa_;
  const PlanBackend& pb_;
  const config::Backend& be_;
  // The fields sent after the head: the request's own extra ones, and the backhaul metadata
  // (Ferry-App, Ferry-Instance) for an instance on another node.
  std::array<http::Header, 4> extra_;
  size_t nreq_ = 0;
};

}  // namespace

awaitable<void> run_exchange(Exchange& x, const UpstreamRequest& req, ExchangeDownstream& down) {
  ExchangeRun run(x, req, down);
  const PlanApp& pa = x.wp.plan->apps[x.app];
  const PlanBackend& pb = x.wp.plan->backends[pa.backend];
  Balancer& balancer = *x.wp.balancers[pa.backend];
  x.tried.assign(pb.servers.size(), false);
  for (;; ++x.attempts) {
    if (x.attempts > pb.cfg->retries + x.free_retries || run.gone()) break;
    PickRequest pr{pb.servers, &x.tried, pa.cfg->concurrency.soft, now_ms(), x.hints};
    const int i = balancer.pick(pr);
    if (i < 0) break;
    const Next next = co_await run.attempt(i);
    if (next == Next::answered) x.server = i;
    if (next != Next::retry) break;
  }
  run.record_outcome();
}

}  // namespace ferry::proxy
