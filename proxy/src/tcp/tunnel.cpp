#include "tcp/tunnel.h"

#include <algorithm>

#include <asio/experimental/awaitable_operators.hpp>

#include "net/deadline.h"

namespace ferry::proxy {
namespace {

struct Shared {
  tcp::socket& a;
  tcp::socket& b;
  Deadline* dl;
  std::chrono::milliseconds idle;
  TunnelResult result;
  void abort() {
    std::error_code ignored;
    a.cancel(ignored);
    b.cancel(ignored);
  }
};

awaitable<void> pump(Shared& sh, tcp::socket& from, Buffer& pending, tcp::socket& to, uint64_t& counter) {
  if (!pending.empty()) {
    auto [ec, n] = co_await asio::async_write(to, asio::buffer(pending.data()), use_nothrow);
    if (ec) {
      sh.result.error = true;
      sh.abort();
      co_return;
    }
    counter += n;
    pending.consume(n);
  }
  char* mem = pending.space();
  size_t cap = pending.capacity();
  for (;;) {
    auto [ec, n] = co_await from.async_read_some(asio::buffer(mem, cap), use_nothrow);
    if (ec == asio::error::eof) {
      std::error_code ignored;
      to.shutdown(tcp::socket::shutdown_send, ignored);
      co_return;
    }
    if (ec) {
      if (!sh.dl->expired()) sh.result.error = true;
      sh.abort();
      co_return;
    }
    sh.dl->touch(sh.idle);
    auto [wec, wn] = co_await asio::async_write(to, asio::buffer(mem, n), use_nothrow);
    if (wec) {
      if (!sh.dl->expired()) sh.result.error = true;
      sh.abort();
      co_return;
    }
    counter += wn;
    sh.dl->touch(sh.idle);
  }
}

}  // namespace

std::chrono::milliseconds tunnel_idle_limit(std::chrono::milliseconds frontend, std::chrono::milliseconds backend) {
  if (frontend.count() <= 0) return backend;
  if (backend.count() <= 0) return frontend;
  return std::min(frontend, backend);
}

awaitable<TunnelResult> run_tunnel(tcp::socket& a, Buffer& a_pending, tcp::socket& b, Buffer& b_pending,
                                   std::chrono::milliseconds idle) {
  using namespace asio::experimental::awaitable_operators;
  Shared sh{a, b, nullptr, idle, {}};
  Deadline watchdog(co_await asio::this_coro::executor, [&sh] { sh.abort(); });
  sh.dl = &watchdog;
  watchdog.arm(idle);
  co_await (pump(sh, a, a_pending, b, sh.result.a_to_b) && pump(sh, b, b_pending, a, sh.result.b_to_a));
  sh.result.idle_timeout = watchdog.expired();
  co_return sh.result;
}

}  // namespace ferry::proxy
