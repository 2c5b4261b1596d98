#include "request/exchange.h"

#include <algorithm>
#include <array>

#include "log/log.h"
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

// The steps of one run_exchange call over the plan's view of the app's backend, as plain
// functions where they need not wait: run_exchange, the attempt loop, awaits only the I/O.
// Lives on run_exchange's frame; every reference is the caller's (see Exchange).
class ExchangeRun {
 public:
  ExchangeRun(Exchange& x, const UpstreamRequest& req, ExchangeDownstream& down)
      : x_(x), req_(req), down_(down), pa_(x.wp.plan->apps[x.app]), pb_(x.wp.plan->backends[x.backend]),
        be_(*pb_.cfg) {
    nreq_ = std::min(req.extra.size(), extra_.size() - 3);
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

  // The start of one attempt on server `i`.
  void begin(int i) {
    ServerState& st = *pb_.servers[i].state;
    x_.last = i;
    if (x_.attempts > 0) st.retries.fetch_add(1, std::memory_order_relaxed);
    x_.inflight.take(&st);
    x_.started = SteadyClock::now();
  }

  // A connection for server `i` into x.up without waiting: a stream on an established HTTP/2
  // connection with room, or a pooled HTTP/1 connection. False: open() makes one.
  bool take(int i, bool& reused) {
    auto& up = x_.up;
    if (h2(i)) {
      up = nullptr;
      reused = x_.w.h2_upstreams().try_open(h2_state(i), up);
    } else {
      up = x_.w.pool().take(pb_.servers[i].state, req_.replayable && req_.idempotent);
      reused = up != nullptr;
    }
    return reused;
  }

  // A new connection (or a stream on an HTTP/2 connection being opened) into x.up.
  awaitable<std::error_code> open(int i, bool& reused) {
    const config::Server& srv = *pb_.servers[i].cfg;
    auto& up = x_.up;
    if (h2(i))
      co_return co_await x_.w.h2_upstreams().open(h2_target(i), be_.timeouts.connect, be_.pool_idle_timeout, up, reused);
    reused = false;
    up = std::make_unique<Http1Upstream>(x_.w.io().get_executor(), &x_.w.blocks());
    up->server = pb_.states[i];
    std::error_code ec = co_await connect_with_timeout(up->sock.socket(), x_.wp.endpoints[x_.backend][i], be_.timeouts.connect);
    if (!ec) ec = co_await write_proxy_header(up->sock.socket(), srv.send_proxy, x_.peer);
    co_return ec;
  }

  // The connection failed: retry elsewhere, or stop when the client went away.
  Next connect_failed(int i, const std::error_code& ec) {
    if (gone()) return Next::stop;
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
    return Next::retry;
  }

  // The fields sent after the head to server `i`, with the body bytes we already have in one
  // write: the request's own, and for an instance on another node, the app and the instance
  // for the hosting node (backhaul metadata). Arms the server timeout.
  std::span<const http::Header> extra(int i) {
    size_t n = nreq_;
    if (pb_.servers[i].peer) {
      extra_[n++] = {"Ferry-App", pa_.cfg->name};
      extra_[n++] = {"Ferry-Instance", pb_.servers[i].cfg->name};
      // A `use-backend` rule chose another backend than the app's: the node looks the
      // instance up there.
      if (x_.backend != pa_.backend) extra_[n++] = {"Ferry-Backend", pb_.cfg->name};
    }
    x_.dl.arm(be_.timeouts.server);
    return std::span(extra_.data(), n);
  }

  // Writing the head failed. An HTTP/2 stream the server refused (REFUSED_STREAM, or above its
  // GOAWAY's last id) was not processed (RFC 9113 §8.7): no failure of the server, and safe to
  // send again.
  Next sent_failed(int i, bool reused, const std::error_code& wec) {
    if (gone()) return Next::stop;
    x_.up.reset();
    if (reused || wec != asio::error::connection_refused) blame(i, reused);
    if (x_.dl.expired()) {
      x_.fail_status = 504, x_.fail_reason = "upstream did not accept the request in time";
      return Next::stop;
    }
    x_.fail_status = 502, x_.fail_reason = "upstream connection failed while sending the request";
    return Next::retry;
  }

  // The request body went out through the downstream's streamer (x.body): false when that failed.
  bool body_sent() {
    if (x_.body.ok()) return true;
    x_.up.reset();
    return false;
  }

  // One response head read: into `h` when it is final (or the read failed), else true for an
  // interim 1xx answer that the downstream may forward before the next read.
  bool interim(const HeadRead& r, HeadOutcome& h) {
    h.got_bytes = h.got_bytes || r.got_bytes;
    if (r.status != HeadRead::Status::complete) {
      h.error = r.status == HeadRead::Status::invalid ? 502 : r.status == HeadRead::Status::timeout ? 504 : -1;
      h.refused = r.refused;
      return false;
    }
    const int status = x_.resp.status;
    if (status >= 100 && status < 200 && status != 101) return true;
    // Only a 101 answer to a request that asked for an upgrade switches the connection to
    // a tunnel (RFC 9110 §15.2.2); any other 101 is an invalid response.
    if (status == 101 && !req_.upgrade) h.error = 502;
    return false;
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

  // Server `i` is spoken to over HTTP/2: its protocol says so, except for an Upgrade to a
  // remote instance, which crosses the backhaul on a TCP connection of its own (HTTP/1.1 to
  // the hosting node, which routes it by its Ferry-App/Ferry-Instance fields).
  bool h2(int i) const {
    return pb_.servers[i].cfg->proto != config::UpstreamProto::http1 && !(req_.upgrade && pb_.servers[i].peer);
  }
  // The state whose HTTP/2 connections carry server `i`'s streams: a remote instance's
  // requests share its peer's backhaul connections.
  const std::shared_ptr<ServerState>& h2_state(int i) const {
    const PeerState* peer = pb_.servers[i].peer;
    return peer ? peer->backhaul : pb_.states[i];
  }
  H2Upstreams::Target h2_target(int i) const {
    const config::Server& srv = *pb_.servers[i].cfg;
    const auto& ep = x_.wp.endpoints[x_.backend][i];
    return H2Upstreams::Target{h2_state(i), ep, pb_.tls[i].get(),
                               srv.sni.empty() ? ep.address().to_string() : srv.sni, srv.verify};
  }

  Exchange& x_;
  const UpstreamRequest& req_;
  ExchangeDownstream& down_;
  const PlanApp& pa_;
  const PlanBackend& pb_;
  const config::Backend& be_;
  // The fields sent after the head: the request's own extra ones, and the backhaul metadata
  // (Ferry-App, Ferry-Instance, Ferry-Backend) for an instance on another node.
  std::array<http::Header, 5> extra_;
  size_t nreq_ = 0;
};

}  // namespace

// The attempt loop, one coroutine frame for the whole exchange: each attempt connects or
// takes a connection, sends the head (and the body), reads the final response head (passing
// interim 1xx answers on) and is judged by ExchangeRun's steps.
awaitable<void> run_exchange(Exchange& x, const UpstreamRequest& req, ExchangeDownstream& down) {
  ExchangeRun run(x, req, down);
  const PlanApp& pa = x.wp.plan->apps[x.app];
  const PlanBackend& pb = x.wp.plan->backends[x.backend];
  const std::chrono::milliseconds timeout = pb.cfg->timeouts.server;
  Balancer& balancer = *x.wp.balancers[x.backend];
  x.tried.assign(pb.servers.size(), false);
  for (;; ++x.attempts) {
    if (x.attempts > pb.cfg->retries + x.free_retries || run.gone()) break;
    PickRequest pr{pb.servers, &x.tried, pa.cfg->concurrency.soft, now_ms(), x.hints, pb.server_soft};
    const int i = balancer.pick(pr);
    if (i < 0) break;
    run.begin(i);
    bool reused = false;
    std::error_code ec;
    if (!run.take(i, reused)) ec = co_await run.open(i, reused);
    Next next = Next::stop;
    std::error_code wec;  // sending the head: without a wait when the socket takes it at once
    if (!ec) {
      const std::span<const http::Header> extra = run.extra(i);
      if (!x.up->poll_send_head(req.head, extra, req.body, req.replayable, wec))
        wec = co_await x.up->send_head(req.head, extra, req.body, req.replayable);
    }
    if (ec) {
      next = run.connect_failed(i, ec);
    } else if (wec) {
      next = run.sent_failed(i, reused, wec);
    } else {
      if (!req.replayable) {
        x.body_sent = true;
        x.body = co_await down.send_body(*x.up);
      }
      if (run.body_sent()) {
        HeadOutcome h;
        while (run.interim(co_await x.up->read_head(x.resp, req.method, x.dl, timeout), h)) {
          co_await down.interim(x.resp);
          x.up->buf.consume(x.resp.head_size);
        }
        next = run.judge(i, reused, h);
      }
    }
    if (next == Next::answered) x.server = i;
    if (next != Next::retry) break;
  }
  run.record_outcome();
}

}  // namespace ferry::proxy
