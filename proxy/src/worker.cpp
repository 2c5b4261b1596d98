#include "worker.h"

#include <sys/socket.h>
#include <unistd.h>

#include <random>

#include "log/log.h"
#include "mesh/catalog_feed.h"
#include "mesh/prober.h"
#include "net/accept.h"
#include "session/http1_session.h"
#include "tcp/tcp_session.h"

namespace ferry::proxy {

Worker::Worker(int id, EngineShared& shared) : WorkerContext(id, shared) {}

Worker::~Worker() { stop(); }

void Worker::start() {
  asio::co_spawn(io_, tick_loop(), asio::detached);
  if (id_ == 0) {
    asio::co_spawn(io_, run_mesh_prober(*this), asio::detached);
    asio::co_spawn(io_, run_catalog_followers(*this), asio::detached);
  }
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), ("ferry-w" + std::to_string(id_)).c_str());
    io_.run();
  });
}

void Worker::stop() {
  if (stopped_) return;
  stopped_ = true;
  io_.stop();
  if (thread_.joinable()) thread_.join();
  access_log_.flush();
  spans_.flush(shared_.spans);
  acceptors_.clear();
  pool_.clear();
  h2_upstreams_.clear();
}

void Worker::install(std::shared_ptr<const Plan> plan, std::vector<std::pair<std::string, int>> add,
                     std::vector<std::string> remove) {
  asio::post(io_, [this, plan = std::move(plan), add = std::move(add), remove = std::move(remove)]() mutable {
    auto wp = std::make_shared<WorkerPlan>();
    wp->plan = plan;
    for (size_t b = 0; b < plan->backends.size(); ++b) {
      const auto& be = plan->backends[b];
      wp->balancers.push_back(Balancer::make(be.cfg->balance, be.servers.size(), random()));
      std::vector<tcp::endpoint> eps;
      for (const auto& s : be.servers) {
        std::error_code ec;
        auto ip = asio::ip::make_address(s.cfg->addr.host.empty() ? "0.0.0.0" : s.cfg->addr.host, ec);
        eps.emplace_back(ip, s.cfg->addr.port);
      }
      wp->endpoints.push_back(std::move(eps));
    }
    plan_ = std::move(wp);
    plan_waiters_.wake();  // requests waiting for an instance look at the new plan
    replay_budget_.limit = plan->config->global.replay_buffer_budget;
    revoke_untrusted_backhaul();
    for (auto& key : remove) {
      auto it = acceptors_.find(key);
      if (it == acceptors_.end()) continue;
      std::error_code ignored;
      it->second->close(ignored);
      acceptors_.erase(it);
    }
    for (auto& [key, fd] : add) {
      if (draining_) {
        ::close(fd);
        continue;
      }
      open_acceptor(key, fd);
    }
  });
}

void Worker::open_acceptor(const std::string& key, int fd) {
  ListenerAddr local;
  auto acc = std::make_shared<tcp::acceptor>(io_);
  std::error_code ec;
  if (!listener_addr(fd, local)) ec = std::error_code(errno, std::system_category());
  if (!ec) acc->assign(local.local.family() == AF_INET6 ? tcp::v6() : tcp::v4(), fd, ec);
  // accept_loop calls accept4 itself: the listener must never block the worker.
  if (!ec) acc->non_blocking(true, ec);
  if (ec) {
    log(config::LogLevel::error, "worker " + std::to_string(id_) + ": cannot use listener " + key + ": " + ec.message());
    if (!acc->is_open()) ::close(fd);
    return;
  }
  acceptors_[key] = acc;
  asio::co_spawn(io_, accept_loop(acc, local, key), asio::detached);
}

awaitable<void> Worker::accept_loop(std::shared_ptr<tcp::acceptor> acc, ListenerAddr local, std::string key) {
  // At most this many connections in a row before other work of the loop gets a turn.
  constexpr int kAcceptBatch = 64;
  asio::steady_timer pause(io_);
  int batch = 0;
  while (acc->is_open()) {
    if (shared_.connections.load(std::memory_order_relaxed) >= shared_.max_connections.load(std::memory_order_relaxed)) {
      // Global maxconn reached: stop accepting for a moment (the kernel queues meanwhile).
      pause.expires_after(std::chrono::milliseconds(10));
      co_await pause.async_wait(use_nothrow);
      continue;
    }
    int fd = -1;
    PeerInfo peer;
    const int err = accept_one(acc->native_handle(), local, fd, peer);
    if (err == 0) {
      dispatch(fd, peer, key);
      if (++batch >= kAcceptBatch) {
        batch = 0;
        co_await asio::post(io_, asio::use_awaitable);
      }
      continue;
    }
    batch = 0;
    if (err == EAGAIN || err == EWOULDBLOCK) {
      // Nothing pending: wait for the next connection. The reactor runs on this thread only
      // between handlers, so no readiness edge falls between accept4's EAGAIN and this wait.
      auto [ec] = co_await acc->async_wait(tcp::acceptor::wait_read, use_nothrow);
      if (ec == asio::error::operation_aborted || !acc->is_open()) co_return;
      continue;
    }
    if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;  // that connection is gone; next
    // EMFILE and friends: back off briefly instead of spinning.
    log(config::LogLevel::warning, "accept on " + key + ": " + std::error_code(err, std::system_category()).message());
    pause.expires_after(std::chrono::milliseconds(50));
    co_await pause.async_wait(use_nothrow);
  }
}

int Worker::pick_worker() const {
  const int n = shared_.nworkers;
  if (n < 2 || !shared_.worker_connections || !shared_.hand_off || draining_) return id_;
  const uint32_t mine = shared_.worker_connections[id_].load(std::memory_order_relaxed);
  int best = id_;
  uint32_t least = mine;
  for (int i = 0; i < n; ++i) {
    const uint32_t c = shared_.worker_connections[i].load(std::memory_order_relaxed);
    if (c < least) {
      least = c;
      best = i;
    }
  }
  // Only a clear imbalance moves a connection: the hand-off (a post to the other loop) costs
  // more than serving a near tie here.
  return mine >= least + 2 + least / 8 ? best : id_;
}

void Worker::dispatch(int fd, const PeerInfo& peer, const std::string& key) {
  const int to = pick_worker();
  // Counted on the chosen worker now, so the next accepts (on any worker) see it there.
  shared_.count_connection(to, 1);
  if (to == id_) return serve(fd, peer, key);
  shared_.handoffs.fetch_add(1, std::memory_order_relaxed);
  shared_.hand_off(to, fd, peer, key);
}

void Worker::post_serve(int fd, const PeerInfo& peer, std::string key) {
  asio::post(io_, [this, fd, peer, key = std::move(key)] { serve(fd, peer, key); });
}

void Worker::serve(int fd, const PeerInfo& peer, const std::string& key) {
  auto wp = plan_;
  auto it = wp->plan->binds.find(key);
  tcp::socket sock(io_);
  // Listener being removed, or not adoptable (adopt_accepted closes the fd): the connection is
  // dropped and uncounted.
  bool adopted = false;
  if (it == wp->plan->binds.end()) ::close(fd);
  else adopted = adopt_accepted(sock, fd, peer.client.family() == AF_INET6);
  if (!adopted) {
    count_connection(-1);
    return;
  }
  std::error_code ec;
  sock.set_option(tcp::no_delay(true), ec);
  int fe = it->second.frontend, bind = it->second.bind;
  wp->plan->frontends[fe].stats->accepted(id_);
  // Counted out (count_connection) when the connection ends: by the TCP coroutine's
  // completion here, by the HTTP session's destructor (an HTTP session outlives its
  // coroutines while parked idle).
  if (wp->plan->frontends[fe].cfg->mode == config::Mode::tcp) {
    asio::co_spawn(io_, run_tcp_session(*this, std::move(sock), peer, std::move(wp), fe, bind), [this](std::exception_ptr e) {
      count_connection(-1);
      if (e) log(config::LogLevel::error, "worker " + std::to_string(id_) + ": TCP session ended with an exception");
    });
  } else {
    start_http1_session(*this, std::move(sock), peer, std::move(wp), key);
  }
}

void Worker::revoke_untrusted_backhaul() {
  const Plan& plan = *plan_->plan;
  // A revoke hook may end its session (and unregister it) right away.
  for_each_session([&](SessionHandle* h) {
    if (!h->backhaul_peer || !h->listener) return;
    auto it = plan.binds.find(*h->listener);
    const PlanFrontend* fe = it == plan.binds.end() ? nullptr : &plan.frontends[it->second.frontend];
    if (fe && fe->cfg->backhaul && fe->trusted.contains(*h->backhaul_peer)) return;
    if (fe) fe->stats->refused(id_);
    log(config::LogLevel::warning, "backhaul: closing a connection from " + format_ip(h->backhaul_peer) +
                                       ": no longer in any mesh peer's allowed-ips (reload)");
    if (h->on_revoke) h->on_revoke(h->owner);
    else if (h->stream) h->stream->cancel();
  });
}

void Worker::post_catalog_feed(std::shared_ptr<const CatalogFeed> feed) {
  asio::post(io_, [this, feed = std::move(feed)]() mutable { set_catalog_feed(std::move(feed)); });
}

void Worker::begin_drain() {
  asio::post(io_, [this] {
    draining_ = true;
    feed_waiters_.wake();  // long polls answer now, so their connections can finish
    plan_waiters_.wake();  // requests waiting for an instance answer now
    for (auto& [key, acc] : acceptors_) {
      std::error_code ignored;
      acc->close(ignored);
    }
    acceptors_.clear();
    // A drain hook may end its session (and unregister it) right away.
    for_each_session([](SessionHandle* h) {
      if (h->on_drain) h->on_drain(h->owner);
      else if (h->idle && h->stream) h->stream->cancel();
    });
    pool_.clear();  // idle ones only; HTTP/2 upstream connections carry in-flight streams
  });
}

// Tickets issued with a key stay valid while it is one of the ring's keys: the current one
// plus two previous ones, so 2-3 hours, more than OpenSSL's default 2-hour ticket lifetime.
constexpr auto kTicketKeyLifetime = std::chrono::hours(1);

void Worker::rotate_ticket_keys(SteadyClock::time_point now) {
  if (!plan_) return;
  const auto& tickets = plan_->plan->tickets;
  if (!tickets || now - tickets_rotated_ < kTicketKeyLifetime) return;
  tickets_rotated_ = now;
  if (!tickets->rotate()) log(config::LogLevel::warning, "TLS session ticket key rotation failed (random generator)");
}

void Worker::close_unreachable_backhauls() {
  std::unordered_map<const PeerState*, bool> seen;
  for (const auto& peer : plan_->plan->peers) {
    const bool down = !peer->reachable.load(std::memory_order_relaxed);
    auto it = peer_down_.find(peer.get());
    const bool was = it != peer_down_.end() && it->second;
    if (down && !was && id_ != 0) h2_upstreams_.close_all(peer->backhaul.get());
    seen.emplace(peer.get(), down);
  }
  peer_down_ = std::move(seen);  // peers a reload dropped are forgotten
}

awaitable<void> Worker::tick_loop() {
  asio::steady_timer t(io_);
  for (;;) {
    t.expires_after(std::chrono::milliseconds(200));
    auto [ec] = co_await t.async_wait(use_nothrow);
    if (ec) co_return;
    access_log_.flush();
    spans_.flush(shared_.spans);
    pool_.sweep();
    trim_free_lists();
    if (plan_) close_unreachable_backhauls();
    h2_upstreams_.sweep();
    if (id_ == 0) rotate_ticket_keys(SteadyClock::now());
  }
}

}  // namespace ferry::proxy
