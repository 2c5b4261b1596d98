#include "tcp/tunnel.h"

#include <algorithm>
#include <memory>

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

// Reads and writes directly while the sockets allow it and only waits in the event loop when
// one would block: a bulk transfer then costs about one epoll pass per burst, not two per
// buffer.
awaitable<void> pump(Shared& sh, tcp::socket& from, Buffer& pending, tcp::socket& to, uint64_t& counter) {
  auto fail = [&] {
    if (!sh.dl->expired()) sh.result.error = true;
    sh.abort();
  };
  auto write_all = [&](const char* p, size_t n) -> awaitable<bool> {
    size_t off = 0;
    while (off < n) {
      std::error_code ec;
      size_t w = to.write_some(asio::buffer(p + off, n - off), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) {
        auto [wec] = co_await to.async_wait(tcp::socket::wait_write, use_nothrow);
        if (wec) co_return false;
        continue;
      }
      if (ec) co_return false;
      off += w;
      counter += w;
    }
    co_return true;
  };
  if (!pending.empty()) {
    if (!co_await write_all(pending.data().data(), pending.size())) {
      fail();
      co_return;
    }
    pending.consume(pending.size());
  }
  pending.release_if_empty();
  // 64 KiB per direction while data flows; released while the direction waits, so idle
  // tunnels (e.g. quiet WebSockets) hold no buffer.
  constexpr size_t kChunk = 64 * 1024;
  std::unique_ptr<char[]> mem;
  for (;;) {
    if (!mem) mem = std::make_unique_for_overwrite<char[]>(kChunk);
    std::error_code ec;
    size_t n = from.read_some(asio::buffer(mem.get(), kChunk), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      mem.reset();
      auto [wec] = co_await from.async_wait(tcp::socket::wait_read, use_nothrow);
      if (wec) {
        fail();
        co_return;
      }
      continue;
    }
    if (ec == asio::error::eof) {
      std::error_code ignored;
      to.shutdown(tcp::socket::shutdown_send, ignored);
      co_return;
    }
    if (ec) {
      fail();
      co_return;
    }
    sh.dl->touch(sh.idle);
    if (!co_await write_all(mem.get(), n)) {
      fail();
      co_return;
    }
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
  std::error_code ignored;
  a.non_blocking(true, ignored);  // read_some/write_some return would_block instead of waiting
  b.non_blocking(true, ignored);
  Deadline watchdog(co_await asio::this_coro::executor, [&sh] { sh.abort(); });
  sh.dl = &watchdog;
  watchdog.arm(idle);
  co_await (pump(sh, a, a_pending, b, sh.result.a_to_b) && pump(sh, b, b_pending, a, sh.result.b_to_a));
  sh.result.idle_timeout = watchdog.expired();
  co_return sh.result;
}

}  // namespace ferry::proxy
