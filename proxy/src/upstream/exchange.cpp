#include "upstream/exchange.h"

#include <algorithm>
#include <array>

#include "log.h"
#include "runtime/peer_state.h"
#include "upstream/h2_upstream.h"
#include "upstream/http1_conn.h"

namespace ferry::proxy {

awaitable<void> ExchangeDownstream::interim(const http::ResponseHead&) { co_return; }

awaitable<void> run_exchange(Exchange& x, const UpstreamRequest& req, ExchangeDownstream& down) {
  const Plan& plan = *x.wp.plan;
  const PlanApp& pa = plan.apps[x.app];
  const PlanBackend& pb = plan.backends[pa.backend];
  const config::Backend& be = *pb.cfg;
  Balancer& balancer = *x.wp.balancers[pa.backend];
  auto& up = x.up;

  x.tried.assign(pb.servers.size(), false);
  // The fields sent after the head: the request's own extra ones, and the backhaul metadata
  // (Ferry-App, Ferry-Instance) for an instance on another node.
  std::array<http::Header, 4> extra;
  const size_t nreq = std::min(req.extra.size(), extra.size() - 2);
  std::copy_n(req.extra.begin(), nreq, extra.begin());
  // A failure that the client's own abandonment caused ends the exchange with no blame on
  // the server and no retry.
  auto gone = [&] {
    if (!down.abandoned()) return false;
    up.reset();
    x.abandoned = true;
    x.fail_reason = "client went away";
    return true;
  };
  for (;; ++x.attempts) {
    if (x.attempts > be.retries + x.free_retries || gone()) break;
    PickRequest pr{pb.servers, &x.tried, pa.cfg->concurrency.soft, now_ms(), x.hints};
    int i = balancer.pick(pr);
    if (i < 0) break;
    ServerState& st = *pb.servers[i].state;
    const config::Server& srv = *pb.servers[i].cfg;
    x.last = i;
    if (x.attempts > 0) st.retries.fetch_add(1, std::memory_order_relaxed);
    x.inflight.take(&st);
    x.started = SteadyClock::now();

    // A stream on a shared HTTP/2 connection (opened when none has room), a pooled
    // connection, or a new one.
    // An Upgrade to a remote instance crosses the backhaul on a TCP connection of its own
    // (HTTP/1.1 to the hosting node, which routes it by its Ferry-App/Ferry-Instance fields).
    const bool h2 = srv.proto != config::UpstreamProto::http1 && !(req.upgrade && pb.servers[i].peer);
    up = h2 ? nullptr : x.w.pool().take(&st);
    bool reused = up != nullptr;
    std::error_code ec;
    if (h2) {
      const auto& ep = x.wp.endpoints[pa.backend][i];
      // A remote instance's requests share its peer's backhaul connections.
      const PeerState* peer = pb.servers[i].peer;
      H2Upstreams::Target t{peer ? peer->backhaul : pb.states[i], ep, pb.tls[i].get(),
                            srv.sni.empty() ? ep.address().to_string() : srv.sni, srv.verify};
      ec = co_await x.w.h2_upstreams().open(t, be.timeouts.connect, be.pool_idle_timeout, up, reused);
    } else if (!up) {
      up = std::make_unique<Http1Upstream>(x.w.io().get_executor(), &x.w.blocks());
      up->server = pb.states[i];
      ec = co_await connect_with_timeout(up->sock.socket(), x.wp.endpoints[pa.backend][i], be.timeouts.connect);
      if (!ec) ec = co_await write_proxy_header(up->sock.socket(), srv.send_proxy, x.peer);
    }
    if (ec && gone()) break;
    if (ec) {
      up.reset();
      x.tried[i] = true;
      // The peer's backhaul did not take the connection: none of its instances can answer
      // this request, so the retries go to other nodes (not spent on the same dead peer).
      if (const PeerState* dead = pb.servers[i].peer)
        for (size_t k = 0; k < pb.servers.size(); ++k)
          if (pb.servers[k].peer == dead) x.tried[k] = true;
      st.connect_errors.fetch_add(1, std::memory_order_relaxed);
      if (st.record_failure(be.passive, now_ms()))
        log(config::LogLevel::warning, "server " + be.name + "/" + srv.name + " ejected after consecutive failures");
      log(config::LogLevel::debug, "connect to " + be.name + "/" + srv.name + " failed: " + ec.message());
      x.fail_reason = "could not connect to any server";
      continue;
    }

    // The head, plus the body bytes we already have, in one write. A request for an instance
    // on another node names the app and the instance for the hosting node (backhaul metadata).
    size_t nextra = nreq;
    if (pb.servers[i].peer) {
      extra[nextra++] = {"Ferry-App", pa.cfg->name};
      extra[nextra++] = {"Ferry-Instance", srv.name};
    }
    x.dl.arm(be.timeouts.server);
    auto wec = co_await up->send_head(req.head, std::span(extra.data(), nextra), req.body, req.replayable);
    if (wec && gone()) break;
    // An HTTP/2 stream the server refused (REFUSED_STREAM, or above its GOAWAY's last id) was
    // not processed (RFC 9113 §8.7): no failure of the server, and safe to send again.
    const bool refused_write = wec == asio::error::connection_refused;
    if (wec) {
      up.reset();
      if (!reused && !refused_write) {
        x.tried[i] = true;
        st.record_failure(be.passive, now_ms());
      } else if (reused && x.free_retries == 0) {
        x.free_retries = 1;
      }
      if (x.dl.expired()) {
        x.fail_status = 504, x.fail_reason = "upstream did not accept the request in time";
        break;
      }
      x.fail_status = 502, x.fail_reason = "upstream connection failed while sending the request";
      continue;
    }
    if (!req.replayable) {
      x.body_sent = true;
      x.body = co_await down.send_body(*up);
      if (!x.body.ok()) {
        up.reset();
        break;
      }
    }

    // The response head, skipping interim 1xx responses (the downstream may forward them).
    bool got_bytes = false, refused = false;
    int status_err = 0;
    for (;;) {
      const HeadRead r = co_await up->read_head(x.resp, req.method, x.dl, be.timeouts.server);
      got_bytes = got_bytes || r.got_bytes;
      if (r.status == HeadRead::Status::complete) {
        if (x.resp.status >= 100 && x.resp.status < 200 && x.resp.status != 101) {
          co_await down.interim(x.resp);
          up->buf.consume(x.resp.head_size);
          continue;
        }
        // Only a 101 answer to a request that asked for an upgrade switches the connection to
        // a tunnel (RFC 9110 §15.2.2); any other 101 is an invalid response.
        if (x.resp.status == 101 && !req.upgrade) status_err = 502;
        break;
      }
      status_err = r.status == HeadRead::Status::invalid ? 502 : r.status == HeadRead::Status::timeout ? 504 : -1;
      refused = r.refused;
      break;
    }
    // A hosting node that does not host the instance (configs out of step during a rollout)
    // did not process the request (421, RFC 9110 §15.5.20): another instance may take it.
    if (status_err == 0 && x.resp.status == 421 && pb.servers[i].peer && req.replayable) {
      up.reset();
      x.tried[i] = true;
      st.record_failure(be.passive, now_ms());
      log(config::LogLevel::warning, "server " + be.name + "/" + srv.name + ": node '" + srv.node +
                                         "' does not host it (421 over the backhaul)");
      x.fail_status = 502, x.fail_reason = "the instance's node does not host it";
      continue;
    }
    if (status_err == 0) {
      x.server = i;
      break;
    }
    if (gone()) break;
    up.reset();
    if (status_err == 504) {
      st.record_failure(be.passive, now_ms());
      x.fail_status = 504, x.fail_reason = "upstream did not answer in time";
      break;
    }
    if (status_err == 502 || got_bytes) {
      st.record_failure(be.passive, now_ms());
      x.fail_status = 502, x.fail_reason = "invalid response from upstream";
      break;
    }
    if (refused && !got_bytes && req.replayable) {
      x.fail_status = 502, x.fail_reason = "upstream refused the request";
      continue;  // not processed (RFC 9113 §8.7): any method may go again
    }
    // Closed or reset before any response byte. A reused pooled connection may simply have
    // been closed by the server; otherwise the server failed. The request bytes were sent,
    // so only an idempotent request with a replayable body may go elsewhere (RFC 9110 §9.2.2).
    if (!reused) {
      x.tried[i] = true;
      st.record_failure(be.passive, now_ms());
    } else if (x.free_retries == 0) {
      x.free_retries = 1;
    }
    x.fail_status = 502, x.fail_reason = "upstream closed the connection without a response";
    if (!req.replayable || !req.idempotent) break;
  }

  if (x.server < 0) {
    x.inflight.drop();
    co_return;
  }
  ServerState& st = *pb.servers[x.server].state;
  if (x.resp.status >= 500) st.record_failure(be.passive, now_ms());
  else
    st.record_success(static_cast<uint32_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - x.started).count()));
  st.responses.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace ferry::proxy
