#include "tcp/tcp_session.h"

#include <cstring>

// g++ 12 -O2 pairs asio's awaitable-frame operator delete with the wrong operator new in
// forward_tcp() and warns (-Wmismatched-new-delete): the false positive silenced the same way
// in http1/session.cpp (asio allocates and frees frames with its own matching pair).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include "log/log.h"
#include "net/connect.h"
#include "net/deadline.h"
#include "net/proxy_protocol.h"
#include "runtime/peer_state.h"
#include "tcp/sni_read.h"
#include "tcp/tunnel.h"
#include "worker/context.h"

namespace ferry::proxy {

namespace {

void debug(const config::Frontend& fe, const std::string& what) {
  if (log_enabled(config::LogLevel::debug)) log(config::LogLevel::debug, "frontend " + fe.name + ": " + what);
}

}  // namespace

// The connection's entry in the worker's session list (for drains) and in its frontend's
// active-connection count while it lives. `fe` belongs to the session's plan, which outlives this.
struct Registered {
  WorkerContext& w;
  stats::FrontendCounters& fe;
  SessionHandle handle;
  Registered(WorkerContext& worker, Stream& sock, stats::FrontendCounters& frontend) : w(worker), fe(frontend) {
    handle.stream = &sock;
    w.add_session(&handle);
    fe.opened(w.id());
  }
  ~Registered() {
    w.remove_session(&handle);
    fe.closed(w.id());
  }
  Registered(const Registered&) = delete;
  Registered& operator=(const Registered&) = delete;
};

// The app is chosen: its budget, a server (with `hints`), connect with retries, the PROXY
// header the server wants (or the backhaul's), then the tunnel. Logs `rec` at the end.
awaitable<void> forward_tcp(WorkerContext& w, Stream& sock, Buffer& down_buf, const std::shared_ptr<WorkerPlan>& wp,
                            const config::Frontend& fe, const PeerInfo& peer, int app_index, const RoutingHints* hints,
                            AccessRecord& rec, SteadyClock::time_point started);

awaitable<void> run_tcp_session(WorkerContext& w, tcp::socket socket, PeerInfo peer, std::shared_ptr<WorkerPlan> wp,
                                int frontend, int bind) {
  Stream sock(std::move(socket));
  const Plan& plan = *wp->plan;
  const config::Frontend& fe = *plan.frontends[frontend].cfg;
  auto started = SteadyClock::now();
  Registered reg(w, sock, *plan.frontends[frontend].stats);

  Buffer down_buf(16 * 1024);
  Deadline dl(sock.get_executor(), [&] { sock.cancel(); });

  AccessRecord rec;
  rec.tcp = true;
  rec.client = &peer.client;
  rec.frontend = fe.name;

  // Before any upstream: the PROXY header and/or the ClientHello, together within `timeout client`.
  if (fe.binds[bind].accept_proxy || fe.route_sni) dl.arm(fe.timeouts.client);
  if (fe.binds[bind].accept_proxy) {
    // Only listed senders may claim another client address; others are closed unread.
    if (!proxy_sender_allowed(plan.frontends[frontend].proxy_senders, peer, fe.name)) {
      plan.frontends[frontend].stats->refused(w.id());
      co_return;
    }
    if (!co_await read_proxy_header(sock.socket(), down_buf, peer)) {
      debug(fe, "invalid or missing PROXY header, closing");
      co_return;
    }
  }
  int app_index = fe.app;
  tls::ClientHelloInfo hello;
  // The access-log record of a connection closed before any upstream.
  auto refused = [&](int status, std::string_view termination) {
    rec.status = status;
    rec.termination = termination;
    rec.bytes_in = down_buf.size();
    rec.duration_ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - started).count();
    w.access_log().add(rec);
  };
  if (fe.route_sni) {
    // TLS passthrough: the ClientHello's server name picks a `mode tcp` app (else the
    // frontend's `app`); its bytes stay in down_buf and reach the server first.
    reg.handle.idle = true;  // nothing proxied yet: a drain may close it (as an HTTP handshake)
    hello = co_await read_client_hello(sock.socket(), down_buf);
    reg.handle.idle = false;
    if (hello.status != tls::HelloStatus::complete) {
      const bool timeout = dl.expired();
      debug(fe, timeout ? std::string("no complete ClientHello within timeout client, closing")
                        : "no ClientHello (" + std::string(hello.reason) + "), closing");
      refused(timeout ? 408 : 400, timeout                                   ? "client-timeout"
                                   : hello.status == tls::HelloStatus::error ? "bad-client-hello"
                                                                             : "client-closed");
      co_return;
    }
    rec.host = hello.server_name();
    if (!hello.server_name().empty()) app_index = plan.sni_router.find(hello.server_name());
    // An app scoped (`frontends`) to other frontends is not reached here.
    if (app_index >= 0 && !plan.apps[app_index].reached_from(frontend))
      app_index = -1;
    if (app_index < 0) app_index = fe.app;
    if (app_index < 0) {
      // Refused like a TLS terminator refuses an unknown name: a fatal unrecognized_name
      // alert, then close (the ClientHello was read whole, so the close is not a reset).
      debug(fe, "SNI '" + std::string(hello.server_name()) + "' matches no app and there is no default app: "
                "unrecognized_name alert, closing");
      auto alert = tls::unrecognized_name_alert();
      co_await asio::async_write(sock.socket(), asio::buffer(alert.data(), alert.size()), use_nothrow);
      std::error_code ignored;
      sock.socket().shutdown(tcp::socket::shutdown_send, ignored);
      refused(404, "no-route");
      co_return;
    }
    debug(fe, "SNI '" + std::string(hello.server_name()) + "' -> app " + plan.apps[app_index].cfg->name);
  }
  dl.disarm();  // the queue and the connect have their own timeouts
  co_await forward_tcp(w, sock, down_buf, wp, fe, peer, app_index, nullptr, rec, started);
}

awaitable<void> forward_tcp(WorkerContext& w, Stream& sock, Buffer& down_buf, const std::shared_ptr<WorkerPlan>& wp,
                            const config::Frontend& fe, const PeerInfo& peer, int app_index, const RoutingHints* hints,
                            AccessRecord& rec, SteadyClock::time_point started) {
  const Plan& plan = *wp->plan;
  Buffer up_buf(16 * 1024);
  Stream up(sock.get_executor());
  Deadline dl(sock.get_executor(), [&] {
    sock.cancel();
    up.cancel();
  });
  const PlanApp& app = plan.apps[app_index];  const PlanBackend& be = plan.backends[app.backend];
  rec.app = app.cfg->name;
  // Every connection that reached an app is counted once, however it ends.
  auto count = [&](uint64_t in, uint64_t out) {
    app.stats->record_request(w.id(), StatsProtocol::tcp, 0, in, out, SteadyClock::now() - started);
  };

  bool queued = false;
  const auto asked = SteadyClock::now();
  auto budget = co_await app.budget->acquire(be.cfg->timeouts.queue, &queued);
  if (queued || budget != BudgetResult::granted) app.stats->record_budget(budget, queued, SteadyClock::now() - asked);
  if (budget != BudgetResult::granted) {
    rec.termination = budget == BudgetResult::queue_full ? "queue-full" : "queue-timeout";
    rec.status = 503;
    count(0, 0);
    w.access_log().add(rec);
    co_return;
  }
  struct BudgetGuard {
    AppBudget& b;
    ~BudgetGuard() { b.release(); }
  } budget_guard{*app.budget};

  std::vector<bool> tried(be.servers.size(), false);
  int chosen = -1;
  int attempts = 0;
  for (; attempts <= be.cfg->retries; ++attempts) {
    PickRequest pr{be.servers, &tried, app.cfg->concurrency.soft, now_ms(), hints, be.server_soft};
    int i = wp->balancers[app.backend]->pick(pr);
    if (i < 0) break;
    tried[i] = true;
    ServerState& st = *be.servers[i].state;
    if (attempts > 0) st.retries.fetch_add(1, std::memory_order_relaxed);  // as the HTTP exchange counts them
    st.inflight.fetch_add(1, std::memory_order_relaxed);
    st.started.fetch_add(1, std::memory_order_relaxed);
    if (up.is_open()) up.close();
    auto ec = co_await connect_with_timeout(up.socket(), wp->endpoints[app.backend][i], be.cfg->timeouts.connect);
    if (!ec) {
      chosen = i;
      break;
    }
    st.inflight.fetch_sub(1, std::memory_order_relaxed);
    st.connect_errors.fetch_add(1, std::memory_order_relaxed);
    if (const PeerState* dead = be.servers[i].peer)  // the peer's backhaul: all its instances
      for (size_t k = 0; k < be.servers.size(); ++k)
        if (be.servers[k].peer == dead) tried[k] = true;
    if (st.record_failure(be.cfg->passive, now_ms()))
      log(config::LogLevel::warning, "server " + be.cfg->name + "/" + be.servers[i].cfg->name +
                                         " ejected after consecutive failures (" + ec.message() + ")");
  }
  rec.retries = attempts > 0 ? attempts - (chosen >= 0 ? 0 : 1) : 0;
  if (chosen < 0) {
    rec.status = 503;
    rec.termination = "no-server";
    count(0, 0);
    w.access_log().add(rec);
    co_return;
  }
  ServerState& st = *be.servers[chosen].state;
  rec.server = be.servers[chosen].cfg->name;
  st.record_success(static_cast<uint32_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - started).count()));
  dl.disarm();
  std::error_code ec;
  if (const config::Server& srv = *be.servers[chosen].cfg; srv.peer >= 0) {
    // An instance on another node: its backhaul learns the app, the instance and the client
    // from a PROXY v2 header with Ferry's TLV, then the bytes follow unchanged.
    std::string h = pp::build_v2(peer.client, peer.local, pp::ferry_tlv(app.cfg->name, srv.name));
    ec = std::get<0>(co_await asio::async_write(up.socket(), asio::buffer(h), use_nothrow));
  } else {
    ec = co_await write_proxy_header(up.socket(), srv.send_proxy, peer);
  }
  TunnelResult tr;
  // run_tunnel sends what down_buf holds (bytes after a PROXY header, the ClientHello) first.
  if (!ec) tr = co_await run_tunnel(sock, down_buf, up, up_buf, tunnel_idle_limit(fe.timeouts.tunnel, be.cfg->timeouts.tunnel));
  st.inflight.fetch_sub(1, std::memory_order_relaxed);
  rec.status = 200;
  rec.bytes_in = tr.a_to_b;
  rec.bytes_out = tr.b_to_a;
  rec.termination = ec ? "upstream-write" : tr.idle_timeout ? "tunnel-timeout" : tr.error ? "reset" : "";
  rec.duration_ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - started).count();
  count(tr.a_to_b, tr.b_to_a);
  w.access_log().add(rec);
}

awaitable<void> run_backhaul_tcp(WorkerContext& w, Stream sock, std::string pending, std::shared_ptr<WorkerPlan> wp,
                                 int frontend, std::string key, PeerInfo peer, int app, std::string instance) {
  const config::Frontend& fe = *wp->plan->frontends[frontend].cfg;
  Registered reg(w, sock, *wp->plan->frontends[frontend].stats);
  // A reload that takes the peer out of every allowed-ips cancels `sock`: the tunnel ends.
  reg.handle.backhaul_peer = &peer.socket;
  reg.handle.listener = &key;
  Buffer down_buf(16 * 1024 + pending.size());
  std::memcpy(down_buf.space(), pending.data(), pending.size());
  down_buf.commit(pending.size());
  AccessRecord rec;
  rec.tcp = true;
  rec.client = &peer.client;
  rec.frontend = fe.name;
  RoutingHints hints;
  hints.force_instance = instance;  // exactly the instance the edge chose (hosted here)
  co_await forward_tcp(w, sock, down_buf, wp, fe, peer, app, &hints, rec, SteadyClock::now());
}

}  // namespace ferry::proxy
