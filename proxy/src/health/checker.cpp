// Active health checks on a private io_context and thread (see checker.h).
//
// One Probe per target, one coroutine per Probe. Every Probe and its coroutine live on the
// checker loop only; update() posts the new target set there. Cancelling a probe sets its
// `stopped` flag and cancels its sleep timer and closes the socket of the check in progress.
#include "health/checker.h"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cstring>
#include <optional>
#include <unordered_map>

#include "log/log.h"
#include "net/proxy_protocol.h"

namespace ferry::proxy {

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr size_t kMaxStatusLine = 1024;

bool same_check(const config::HealthCheck& a, const config::HealthCheck& b) {
  return a.kind == b.kind && a.method == b.method && a.path == b.path && a.host == b.host &&
         a.interval == b.interval && a.timeout == b.timeout && a.rise == b.rise && a.fall == b.fall;
}

bool same_settings(const CheckTarget& a, const CheckTarget& b) {
  return a.addr == b.addr && a.send_proxy == b.send_proxy && same_check(a.check, b.check);
}

// One check attempt: its socket and its deadline, shared with the deadline handler so that
// neither outlives the other's use.
struct Attempt {
  explicit Attempt(asio::io_context& io) : socket(io), deadline(io) {}
  asio::ip::tcp::socket socket;
  asio::steady_timer deadline;
  bool timed_out = false;
  void abort() {
    std::error_code ignored;
    socket.close(ignored);
  }
};

struct Probe {
  Probe(asio::io_context& io, CheckTarget t) : target(std::move(t)), sleep(io) {}
  CheckTarget target;
  asio::steady_timer sleep;
  std::shared_ptr<Attempt> current;
  bool stopped = false;
  int passes = 0;
  int fails = 0;

  void cancel() {
    stopped = true;
    sleep.cancel();
    if (current) current->abort();
  }
};

std::string name_of(const CheckTarget& t) { return t.backend + "/" + t.server; }

// "HTTP/1.1 200 OK" -> 200; -1 when malformed.
int parse_status(std::string_view line) {
  if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[8] != ' ') return -1;
  int code = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return -1;
    code = code * 10 + (line[i] - '0');
  }
  if (line.size() > 12 && line[12] != ' ' && line[12] != '\r') return -1;
  return code;
}

SockAddr to_storage(const asio::ip::tcp::endpoint& ep) {
  SockAddr ss{};
  std::memcpy(&ss, ep.data(), std::min<size_t>(ep.size(), sizeof ss));
  return ss;
}

}  // namespace

struct HealthChecker::Impl {
  // Declared first: destroyed last, after everything holding timers and sockets on it.
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;
  std::unordered_map<ServerState*, std::shared_ptr<Probe>> probes;  // loop thread only
  uint64_t rng = 0x243F6A8885A308D3ULL;                            // loop thread only

  Impl() : work(asio::make_work_guard(io)) {
    thread = std::thread([this] { io.run(); });
  }

  uint64_t next_random() {  // splitmix64
    uint64_t z = (rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

  // interval +- 10%.
  std::chrono::milliseconds jittered(std::chrono::milliseconds interval) {
    const int64_t ms = std::max<int64_t>(interval.count(), 1);
    const int64_t span = ms / 5;  // 20% wide window
    if (span == 0) return std::chrono::milliseconds(ms);
    const int64_t off = static_cast<int64_t>(next_random() % static_cast<uint64_t>(span + 1)) - span / 2;
    return std::chrono::milliseconds(std::max<int64_t>(ms + off, 1));
  }

  void apply(std::vector<CheckTarget> targets) {
    std::unordered_map<ServerState*, std::shared_ptr<Probe>> next;
    for (CheckTarget& t : targets) {
      if (!t.state || t.check.kind == config::HealthCheck::Kind::none) continue;
      ServerState* key = t.state.get();
      if (next.count(key)) continue;  // one probe per server state
      auto it = probes.find(key);
      if (it != probes.end() && same_settings(it->second->target, t)) {
        it->second->target.backend = std::move(t.backend);  // names are only for logs
        it->second->target.server = std::move(t.server);
        next.emplace(key, std::move(it->second));
        probes.erase(it);
        continue;
      }
      if (it != probes.end()) {
        // Same server, new check settings: restart the counters, keep the current result.
        it->second->cancel();
        probes.erase(it);
      } else {
        t.state->healthy.store(true, std::memory_order_relaxed);
      }
      auto p = std::make_shared<Probe>(io, std::move(t));
      next.emplace(key, p);
      asio::co_spawn(io, run(p), asio::detached);
    }
    // Dropped targets: no longer checked, so no longer held down by a check.
    for (auto& [key, p] : probes) {
      p->cancel();
      p->target.state->healthy.store(true, std::memory_order_relaxed);
    }
    probes = std::move(next);
  }

  asio::awaitable<void> run(std::shared_ptr<Probe> p) {
    while (!p->stopped) {
      std::string reason;
      const bool ok = co_await check_once(*p, reason);
      if (p->stopped) break;
      record(*p, ok, reason);
      p->sleep.expires_after(jittered(p->target.check.interval));
      co_await p->sleep.async_wait(use_tuple);
    }
  }

  void record(Probe& p, bool ok, const std::string& reason) {
    ServerState& st = *p.target.state;
    const config::HealthCheck& c = p.target.check;
    if (ok) {
      p.fails = 0;
      ++p.passes;
      if (!st.healthy.load(std::memory_order_relaxed) && p.passes >= std::max(c.rise, 1)) {
        st.healthy.store(true, std::memory_order_relaxed);
        log(config::LogLevel::warning, "server " + name_of(p.target) + " is UP");
      }
    } else {
      p.passes = 0;
      ++p.fails;
      if (st.healthy.load(std::memory_order_relaxed) && p.fails >= std::max(c.fall, 1)) {
        st.healthy.store(false, std::memory_order_relaxed);
        log(config::LogLevel::warning, "server " + name_of(p.target) + " is DOWN (" + reason + ")");
      }
    }
  }

  asio::awaitable<bool> check_once(Probe& p, std::string& reason) {
    const CheckTarget& t = p.target;
    std::error_code ec;
    const auto ip = asio::ip::make_address(t.addr.host.empty() ? std::string("127.0.0.1") : t.addr.host, ec);
    if (ec) {
      reason = "bad address " + t.addr.host;
      co_return false;
    }
    auto at = std::make_shared<Attempt>(io);
    p.current = at;
    if (t.check.timeout.count() > 0) {
      at->deadline.expires_after(t.check.timeout);
      at->deadline.async_wait([at](std::error_code e) {
        if (!e) {
          at->timed_out = true;
          at->abort();
        }
      });
    }
    const bool ok = co_await attempt(*at, t, asio::ip::tcp::endpoint(ip, t.addr.port), reason);
    at->deadline.cancel();
    at->abort();
    if (p.current == at) p.current.reset();
    if (!ok && at->timed_out) reason = "timeout after " + std::to_string(t.check.timeout.count()) + "ms";
    co_return ok;
  }

  static asio::awaitable<bool> attempt(Attempt& at, const CheckTarget& t, asio::ip::tcp::endpoint ep,
                                       std::string& reason) {
    auto [cec] = co_await at.socket.async_connect(ep, use_tuple);
    if (cec) {
      reason = "connect: " + cec.message();
      co_return false;
    }
    std::string out;
    if (t.send_proxy != config::ProxyProtocol::none) {
      std::error_code ec;
      const auto local = at.socket.local_endpoint(ec);
      if (ec) {
        reason = "connect: " + ec.message();
        co_return false;
      }
      const SockAddr src = to_storage(local), dst = to_storage(ep);
      out = t.send_proxy == config::ProxyProtocol::v1 ? pp::build_v1(src, dst) : pp::build_v2(src, dst);
    }
    const bool http = t.check.kind == config::HealthCheck::Kind::http;
    if (http) {
      const std::string host = t.check.host.empty() ? t.addr.to_string() : t.check.host;
      out += t.check.method + " " + t.check.path + " HTTP/1.1\r\nHost: " + host +
             "\r\nUser-Agent: ferry-health\r\nConnection: close\r\n\r\n";
    }
    if (!out.empty()) {
      auto [wec, n] = co_await asio::async_write(at.socket, asio::buffer(out), use_tuple);
      if (wec) {
        reason = "write: " + wec.message();
        co_return false;
      }
    }
    if (!http) co_return true;
    std::string in;
    auto [rec, n] = co_await asio::async_read_until(at.socket, asio::dynamic_buffer(in, kMaxStatusLine), "\r\n", use_tuple);
    if (rec) {
      reason = rec == asio::error::eof ? std::string("connection closed before the status line")
                                       : "read: " + rec.message();
      co_return false;
    }
    const int status = parse_status(std::string_view(in).substr(0, n));
    if (status < 0) {
      reason = "malformed status line";
      co_return false;
    }
    if (status >= 200 && status < 400) co_return true;
    reason = "HTTP status " + std::to_string(status);
    co_return false;
  }

  void stop() {
    if (!thread.joinable()) return;
    // Pending checks are abandoned: their coroutine frames are destroyed with `io`.
    work.reset();
    io.stop();
    thread.join();
  }
};

HealthChecker::HealthChecker() : impl_(std::make_unique<Impl>()) {}

HealthChecker::~HealthChecker() { stop(); }

void HealthChecker::update(std::vector<CheckTarget> targets) {
  Impl* impl = impl_.get();
  asio::post(impl->io, [impl, targets = std::move(targets)]() mutable { impl->apply(std::move(targets)); });
}

void HealthChecker::stop() {
  if (impl_) impl_->stop();
}

}  // namespace ferry::proxy
