#include <catch2/catch.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/read_until.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <atomic>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "health/checker.h"

using namespace ferry;
using namespace ferry::proxy;
using namespace std::chrono_literals;

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// A local HTTP/TCP responder on 127.0.0.1:0, on its own thread. Each connection: read up to the
// end of the request head (or EOF), answer with the next scripted status (or `status`), close.
class Responder {
 public:
  explicit Responder(std::shared_ptr<ServerState> watch = nullptr) : watch_(std::move(watch)) {
    REQUIRE(open(0));
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Responder() {
    work_.reset();
    asio::post(io_, [this] { io_.stop(); });
    thread_.join();
  }

  uint16_t port() const { return port_; }
  std::atomic<int> status{200};
  std::atomic<bool> silent{false};  // accept and read, never answer

  void set_script(std::vector<int> s) {
    std::lock_guard<std::mutex> l(mu_);
    script_ = std::move(s);
  }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> l(mu_);
    return requests_;
  }
  std::vector<bool> healthy_seen() {
    std::lock_guard<std::mutex> l(mu_);
    return seen_;
  }
  size_t connections() {
    std::lock_guard<std::mutex> l(mu_);
    return requests_.size();
  }
  void close_listener() { run_sync([this] { acceptor_.reset(); }); }
  bool reopen() {
    bool ok = false;
    run_sync([&] { ok = open(port_); });
    return ok;
  }

 private:
  template <class F>
  void run_sync(F f) {
    std::promise<void> done;
    asio::post(io_, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }

  bool open(uint16_t port) {
    acceptor_ = std::make_unique<asio::ip::tcp::acceptor>(io_);
    asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    std::error_code ec;
    acceptor_->open(ep.protocol(), ec);
    acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
    acceptor_->bind(ep, ec);
    if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return false;
    port_ = acceptor_->local_endpoint(ec).port();
    asio::co_spawn(io_, accept_loop(acceptor_.get()), asio::detached);
    return true;
  }

  asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor* a) {
    for (;;) {
      auto [ec, sock] = co_await a->async_accept(use_tuple);
      if (ec) co_return;
      asio::co_spawn(io_, serve(std::move(sock)), asio::detached);
    }
  }

  asio::awaitable<void> serve(asio::ip::tcp::socket sock) {
    std::string in;
    auto [ec, n] = co_await asio::async_read_until(sock, asio::dynamic_buffer(in, 8192), "\r\n\r\n", use_tuple);
    int code;
    {
      std::lock_guard<std::mutex> l(mu_);
      const size_t k = requests_.size();
      requests_.push_back(in);
      if (watch_) seen_.push_back(watch_->healthy.load());
      code = k < script_.size() ? script_[k] : status.load();
    }
    if (ec) co_return;  // tcp check: the peer closed after connecting
    if (silent) {
      std::string rest;
      co_await asio::async_read(sock, asio::dynamic_buffer(rest), use_tuple);  // until peer gives up
      co_return;
    }
    std::string resp = "HTTP/1.1 " + std::to_string(code) + " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    co_await asio::async_write(sock, asio::buffer(resp), use_tuple);
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::unique_ptr<asio::ip::tcp::acceptor> acceptor_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::shared_ptr<ServerState> watch_;
  std::mutex mu_;
  std::vector<int> script_;
  std::vector<std::string> requests_;
  std::vector<bool> seen_;
};

CheckTarget target(uint16_t port, config::HealthCheck::Kind kind, std::shared_ptr<ServerState> st, int rise = 2,
                   int fall = 2) {
  CheckTarget t;
  t.backend = "be";
  t.server = "s1";
  t.addr = config::Address{"127.0.0.1", port};
  t.check.kind = kind;
  t.check.interval = 50ms;
  t.check.timeout = 300ms;
  t.check.rise = rise;
  t.check.fall = fall;
  t.check.path = "/healthz";
  t.check.host = "app.example";
  t.state = std::move(st);
  return t;
}

template <class Pred>
bool wait_for(Pred pred, std::chrono::milliseconds limit = 3000ms) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

}  // namespace

TEST_CASE("tcp check: up while listening, down when the listener closes, up again", "[health]") {
  Responder r;
  auto st = std::make_shared<ServerState>();
  HealthChecker hc;
  hc.update({target(r.port(), config::HealthCheck::Kind::tcp, st)});
  REQUIRE(wait_for([&] { return r.connections() >= 3; }));
  CHECK(st->healthy);
  r.close_listener();
  REQUIRE(wait_for([&] { return !st->healthy.load(); }));
  REQUIRE(r.reopen());
  REQUIRE(wait_for([&] { return st->healthy.load(); }));
}

TEST_CASE("tcp check against a closed port goes down after `fall` checks", "[health]") {
  uint16_t port;
  {
    Responder r;
    port = r.port();
  }  // closed again: nothing listens on `port` now
  auto st = std::make_shared<ServerState>();
  HealthChecker hc;
  auto t0 = std::chrono::steady_clock::now();
  hc.update({target(port, config::HealthCheck::Kind::tcp, st, 2, 3)});
  REQUIRE(wait_for([&] { return !st->healthy.load(); }));
  // First check at once, then two more ~50ms apart: at least ~90ms.
  CHECK(std::chrono::steady_clock::now() - t0 >= 85ms);
}

TEST_CASE("http check: 200 passes, 500 fails; request format", "[health]") {
  Responder r;
  auto st = std::make_shared<ServerState>();
  HealthChecker hc;
  hc.update({target(r.port(), config::HealthCheck::Kind::http, st)});
  REQUIRE(wait_for([&] { return r.connections() >= 2; }));
  CHECK(st->healthy);
  auto reqs = r.requests();
  CHECK(reqs[0] ==
        "GET /healthz HTTP/1.1\r\nHost: app.example\r\nUser-Agent: ferry-health\r\nConnection: close\r\n\r\n");
  r.status = 500;
  REQUIRE(wait_for([&] { return !st->healthy.load(); }));
  r.status = 302;  // 3xx passes too
  REQUIRE(wait_for([&] { return st->healthy.load(); }));
  r.status = 404;
  REQUIRE(wait_for([&] { return !st->healthy.load(); }));
}

TEST_CASE("rise and fall count consecutive results", "[health]") {
  auto st = std::make_shared<ServerState>();
  Responder r(st);
  // fall 3, rise 2. The responder records `healthy` as seen when each check arrives, i.e.
  // the result of all the checks before it.
  r.set_script({500, 500, 200, 500, 500, 500, 200, 200, 200});
  r.status = 200;
  HealthChecker hc;
  hc.update({target(r.port(), config::HealthCheck::Kind::http, st, 2, 3)});
  REQUIRE(wait_for([&] { return r.healthy_seen().size() >= 10; }));
  auto seen = r.healthy_seen();
  std::vector<bool> expect{true, true, true, true, true, true, false, false, true, true};
  seen.resize(expect.size());
  CHECK(seen == expect);
}

TEST_CASE("a check that gets no answer times out", "[health]") {
  Responder r;
  r.silent = true;
  auto st = std::make_shared<ServerState>();
  HealthChecker hc;
  auto t = target(r.port(), config::HealthCheck::Kind::http, st, 1, 1);
  t.check.timeout = 100ms;
  hc.update({t});
  REQUIRE(wait_for([&] { return !st->healthy.load(); }));
}

TEST_CASE("send-proxy checks send a PROXY header first", "[health]") {
  Responder r;
  auto st = std::make_shared<ServerState>();
  HealthChecker hc;
  auto t = target(r.port(), config::HealthCheck::Kind::http, st);
  t.send_proxy = config::ProxyProtocol::v1;
  hc.update({t});
  REQUIRE(wait_for([&] { return r.connections() >= 1; }));
  CHECK(r.requests()[0].rfind("PROXY ", 0) == 0);
}

TEST_CASE("update keeps unchanged targets and drops removed ones", "[health]") {
  Responder r;
  r.status = 500;
  auto st = std::make_shared<ServerState>();
  HealthChecker hc;
  auto t = target(r.port(), config::HealthCheck::Kind::http, st, 2, 2);
  hc.update({t});
  REQUIRE(wait_for([&] { return !st->healthy.load(); }));
  // Same state and settings: the result and counters carry over (still down).
  hc.update({t});
  std::this_thread::sleep_for(30ms);
  CHECK_FALSE(st->healthy);
  // Removed: no longer checked, so no longer held down.
  hc.update({});
  REQUIRE(wait_for([&] { return st->healthy.load(); }));
  const size_t n = r.connections();
  std::this_thread::sleep_for(200ms);
  CHECK(r.connections() <= n + 1);  // at most a check already in flight
  CHECK(st->healthy);
}

TEST_CASE("stop is idempotent and the destructor stops", "[health]") {
  Responder r;
  auto st = std::make_shared<ServerState>();
  {
    HealthChecker hc;
    hc.update({target(r.port(), config::HealthCheck::Kind::tcp, st)});
    REQUIRE(wait_for([&] { return r.connections() >= 1; }));
    hc.stop();
    hc.stop();
    hc.update({});  // ignored after stop
  }
  {
    HealthChecker hc;  // destroyed while checks run
    hc.update({target(r.port(), config::HealthCheck::Kind::http, st)});
    std::this_thread::sleep_for(20ms);
  }
  SUCCEED();
}
