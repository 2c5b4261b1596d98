#include "tcp/tunnel.h"

#include <algorithm>
#include <memory>

#include <asio/experimental/awaitable_operators.hpp>

#include "net/deadline.h"

namespace ferry::proxy {
namespace {

struct Shared {
  Stream& a;
  Stream& b;
  Deadline* dl;
  std::chrono::milliseconds idle;
  TunnelResult result;
  void abort() {
    a.cancel();
    b.cancel();
  }
};

// Plain sockets are read and written directly while they allow it, waiting in the event loop
// only when one would block: a bulk transfer then costs about one epoll pass per burst, not
// two per buffer. A TLS side goes through its asynchronous operations (records must never be
// split by a would-block).
awaitable<bool> write_all(Stream& to, const char* p, size_t n, uint64_t& counter) {
  if (to.is_tls()) {
    auto [ec, w] = co_await asio::async_write(to, asio::buffer(p, n), use_nothrow);
    counter += w;
    co_return !ec;
  }
  size_t off = 0;
  while (off < n) {
    std::error_code ec;
    size_t w = to.socket().write_some(asio::buffer(p + off, n - off), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      auto [wec] = co_await to.socket().async_wait(tcp::socket::wait_write, use_nothrow);
      if (wec) co_return false;
      continue;
    }
    if (ec) co_return false;
    off += w;
    counter += w;
  }
  co_return true;
}

// One read: bytes, or an error (eof at the end of the stream). `mem` is dropped while a plain
// socket waits, so idle tunnels (e.g. quiet WebSockets) hold no buffer.
awaitable<std::pair<std::error_code, size_t>> read_some(Stream& from, std::unique_ptr<char[]>& mem, size_t size) {
  for (;;) {
    if (!mem) mem = std::make_unique_for_overwrite<char[]>(size);
    if (from.is_tls()) {
      auto [ec, n] = co_await from.async_read_some(asio::buffer(mem.get(), size), use_nothrow);
      co_return std::pair{ec, n};
    }
    std::error_code ec;
    size_t n = from.socket().read_some(asio::buffer(mem.get(), size), ec);
    if (ec != asio::error::would_block && ec != asio::error::try_again) co_return std::pair{ec, n};
    mem.reset();
    auto [wec] = co_await from.socket().async_wait(tcp::socket::wait_read, use_nothrow);
    if (wec) co_return std::pair{wec, size_t{0}};
  }
}

awaitable<void> pump(Shared& sh, Stream& from, Buffer& pending, Stream& to, uint64_t& counter) {
  auto fail = [&] {
    if (!sh.dl->expired()) sh.result.error = true;
    sh.abort();
  };
  if (!pending.empty()) {
    if (!co_await write_all(to, pending.data().data(), pending.size(), counter)) {
      fail();
      co_return;
    }
    pending.consume(pending.size());
  }
  pending.release_if_empty();
  // 64 KiB per direction while data flows (a TLS read returns at most one 16 KiB record).
  const size_t chunk = from.is_tls() ? 16 * 1024 : 64 * 1024;
  std::unique_ptr<char[]> mem;
  for (;;) {
    auto [ec, n] = co_await read_some(from, mem, chunk);
    if (ec == asio::error::eof || (ec == asio::ssl::error::stream_truncated && from.is_tls())) {
      // Half-close: a TCP FIN towards the other side. A TLS side gets no close_notify here:
      // sending one would need a read on the stream the other direction is reading.
      std::error_code ignored;
      to.socket().shutdown(tcp::socket::shutdown_send, ignored);
      co_return;
    }
    if (ec) {
      fail();
      co_return;
    }
    sh.dl->touch(sh.idle);
    if (!co_await write_all(to, mem.get(), n, counter)) {
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

awaitable<TunnelResult> run_tunnel(Stream& a, Buffer& a_pending, Stream& b, Buffer& b_pending,
                                   std::chrono::milliseconds idle) {
  using namespace asio::experimental::awaitable_operators;
  Shared sh{a, b, nullptr, idle, {}};
  std::error_code ignored;
  // Plain sides: read_some/write_some return would_block instead of waiting. (Asio sets
  // internal non-blocking mode for its own asynchronous operations, so TLS is unaffected.)
  if (!a.is_tls()) a.socket().non_blocking(true, ignored);
  if (!b.is_tls()) b.socket().non_blocking(true, ignored);
  Deadline watchdog(co_await asio::this_coro::executor, [&sh] { sh.abort(); });
  sh.dl = &watchdog;
  watchdog.arm(idle);
  co_await (pump(sh, a, a_pending, b, sh.result.a_to_b) && pump(sh, b, b_pending, a, sh.result.b_to_a));
  sh.result.idle_timeout = watchdog.expired();
  co_return sh.result;
}

}  // namespace ferry::proxy
