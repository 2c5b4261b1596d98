#include "tcp/tcp_session.h"

#include "log.h"
#include "net/connect.h"
#include "net/deadline.h"
#include "tcp/tunnel.h"
#include "worker.h"

namespace ferry::proxy {

awaitable<void> run_tcp_session(Worker& w, tcp::socket socket, std::shared_ptr<WorkerPlan> wp, int frontend,
                                int bind) {
  Stream sock(std::move(socket));
  const Plan& plan = *wp->plan;
  const config::Frontend& fe = *plan.frontends[frontend].cfg;
  auto started = SteadyClock::now();
  SessionHandle handle;
  handle.stream = &sock;
  w.add_session(&handle);
  struct Unregister {
    Worker& w;
    SessionHandle* h;
    ~Unregister() { w.remove_session(h); }
  } unregister{w, &handle};

  PeerInfo peer;
  peer_from_socket(sock.socket(), peer);
  Buffer down_buf(16 * 1024), up_buf(16 * 1024);
  Stream up(sock.get_executor());
  Deadline dl(sock.get_executor(), [&] {
    sock.cancel();
    up.cancel();
  });

  AccessRecord rec;
  rec.tcp = true;
  rec.client = &peer.client;
  rec.frontend = fe.name;

  if (fe.binds[bind].accept_proxy) {
    dl.arm(fe.timeouts.client);
    if (!co_await read_proxy_header(sock.socket(), down_buf, peer)) {
      log(config::LogLevel::debug, "frontend " + fe.name + ": invalid or missing PROXY header, closing");
      co_return;
    }
  }
  const PlanApp& app = plan.apps[fe.app];
  const PlanBackend& be = plan.backends[app.backend];
  rec.app = app.cfg->name;

  auto budget = co_await app.budget->acquire(be.cfg->timeouts.queue);
  if (budget != BudgetResult::granted) {
    rec.termination = budget == BudgetResult::queue_full ? "queue-full" : "queue-timeout";
    rec.status = 503;
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
    PickRequest pr{be.servers, &tried, app.cfg->concurrency.soft, now_ms()};
    int i = wp->balancers[app.backend]->pick(pr);
    if (i < 0) break;
    tried[i] = true;
    ServerState& st = *be.servers[i].state;
    st.inflight.fetch_add(1, std::memory_order_relaxed);
    if (up.is_open()) up.close();
    auto ec = co_await connect_with_timeout(up.socket(), wp->endpoints[app.backend][i], be.cfg->timeouts.connect);
    if (!ec) {
      chosen = i;
      break;
    }
    st.inflight.fetch_sub(1, std::memory_order_relaxed);
    st.connect_errors.fetch_add(1, std::memory_order_relaxed);
    if (st.record_failure(be.cfg->passive, now_ms()))
      log(config::LogLevel::warning, "server " + be.cfg->name + "/" + be.servers[i].cfg->name +
                                         " ejected after consecutive failures (" + ec.message() + ")");
  }
  rec.retries = attempts > 0 ? attempts - (chosen >= 0 ? 0 : 1) : 0;
  if (chosen < 0) {
    rec.status = 503;
    rec.termination = "no-server";
    w.access_log().add(rec);
    co_return;
  }
  ServerState& st = *be.servers[chosen].state;
  rec.server = be.servers[chosen].cfg->name;
  st.record_success(static_cast<uint32_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - started).count()));
  dl.disarm();
  auto ec = co_await write_proxy_header(up.socket(), be.servers[chosen].cfg->send_proxy, peer);
  TunnelResult tr;
  if (!ec) tr = co_await run_tunnel(sock, down_buf, up, up_buf, tunnel_idle_limit(fe.timeouts.tunnel, be.cfg->timeouts.tunnel));
  st.inflight.fetch_sub(1, std::memory_order_relaxed);
  rec.status = 200;
  rec.bytes_in = tr.a_to_b;
  rec.bytes_out = tr.b_to_a;
  rec.termination = ec ? "upstream-write" : tr.idle_timeout ? "tunnel-timeout" : tr.error ? "reset" : "";
  rec.duration_ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - started).count();
  w.access_log().add(rec);
}

}  // namespace ferry::proxy
