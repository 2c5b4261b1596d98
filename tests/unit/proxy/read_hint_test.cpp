// net/read_hint + Stream::read_done: a plain socket marked drained after a read that waited in
// the reactor and came back short; the mark never loses bytes (a readiness event clears it) nor
// an end of stream that came with the last bytes.
#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "net/read_hint.h"
#include "net/stream.h"

using namespace ferry::proxy;

namespace {

struct Pair {
  asio::io_context io;
  tcp::acceptor acc{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  tcp::socket peer{io};
  std::optional<Stream> s;
  asio::executor_work_guard<asio::io_context::executor_type> guard = asio::make_work_guard(io);
  std::thread sender;

  explicit Pair(bool watch = true) {
    tcp::socket c(io);
    c.connect(acc.local_endpoint());
    acc.accept(peer);
    c.non_blocking(true);
    s.emplace(std::move(c));
    if (watch) s->watch_hangup();
  }

  // Starts a read of up to `asked` bytes, runs `meanwhile` (before the loop runs again), then
  // runs the loop until the read completes (or 2 s pass); calls read_done in its handler as
  // the HTTP/1 code does. Returns what it read, "(eof)", "(error)" or "(no completion)".
  std::string read(size_t asked, bool* queued = nullptr, const std::function<void()>& meanwhile = {}) {
    std::string buf(asked, '\0');
    std::optional<std::string> got;
    s->async_read_some(asio::buffer(buf), [&](std::error_code ec, size_t n) {
      s->read_done(ec ? 0 : n, asked);
      got = ec == asio::error::eof ? "(eof)" : ec ? "(error)" : buf.substr(0, n);
    });
    if (queued) *queued = read_hint::read_queued(s->socket());
    if (meanwhile) meanwhile();
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (!got && std::chrono::steady_clock::now() < until) io.run_one_for(std::chrono::milliseconds(50));
    return got.value_or("(no completion)");
  }

  void send(const std::string& d) { asio::write(peer, asio::buffer(d)); }
  // Sends `d` 50 ms from now, from another thread (the read started meanwhile waits for it).
  void send_later(std::string d) {
    if (sender.joinable()) sender.join();
    sender = std::thread([this, d = std::move(d)] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      send(d);
    });
  }
  ~Pair() {
    if (sender.joinable()) sender.join();
  }
};

}  // namespace

TEST_CASE("read hint: available in this build (asio 1.22, epoll)", "[read_hint]") {
  // Without it every keep-alive request costs two failing recv() calls: a build on another asio
  // must be noticed, not silently slower.
  REQUIRE(read_hint::available());
}

TEST_CASE("read hint: a short read that waited marks the socket drained; later bytes still arrive", "[read_hint]") {
  Pair p;
  tcp::socket& sock = p.s->socket();
  REQUIRE(read_hint::will_try_read(sock));  // a new socket: the first read tries at once

  SECTION("a read that waited and came back short marks it; the next read waits without a recv and completes") {
    bool q = false;
    p.send_later("abc");
    CHECK(p.read(64, &q) == "abc");
    CHECK(q);  // nothing was there: it waited in the reactor
    CHECK_FALSE(read_hint::will_try_read(sock));  // drained
    // Marked: the next read is queued without a recv, and the next bytes complete it.
    p.send_later("def");
    CHECK(p.read(64, &q) == "def");
    CHECK(q);
    CHECK_FALSE(read_hint::will_try_read(sock));
  }

  SECTION("bytes that arrive while no read is pending clear the mark: they are read at once") {
    p.send("x");
    // First read completes at once (bytes there): not marked.
    bool q = true;
    CHECK(p.read(64, &q) == "x");
    CHECK_FALSE(q);
    CHECK(read_hint::will_try_read(sock));
    // Wait-then-short read: marked.
    p.send_later("y");
    CHECK(p.read(64, &q) == "y");
    CHECK(q);
    CHECK_FALSE(read_hint::will_try_read(sock));
    // Bytes arrive while nothing reads; the loop handles their readiness event.
    p.send("late");
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (!read_hint::will_try_read(sock) && std::chrono::steady_clock::now() < until) {
      p.io.poll();  // the work guard keeps the reactor in the loop's turns
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    CHECK(read_hint::will_try_read(sock));
    CHECK(p.read(64) == "late");
  }

  SECTION("a read that filled its buffer does not mark: more may be there") {
    p.send_later("0123456789");
    bool q = false;
    CHECK(p.read(4, &q) == "0123");
    CHECK(q);
    CHECK(read_hint::will_try_read(sock));
    CHECK(p.read(64) == "456789");
  }

  SECTION("the bytes a waiting read gets and the peer's FIN in one readiness event: not marked") {
    // The read waits in the reactor; both the bytes and the FIN are in the socket before the
    // loop runs again, so one event brings both and the read's recv leaves the FIN unread.
    bool q = false;
    const std::string got = p.read(64, &q, [&] {
      p.send("bye");
      p.peer.shutdown(tcp::socket::shutdown_send);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    });
    REQUIRE(q);
    REQUIRE(got == "bye");
    CHECK(read_hint::will_try_read(sock));  // the end of stream is still to be read
    CHECK(p.read(64) == "(eof)");          // at once, not after a wait that never ends
  }
}

TEST_CASE("read hint: without watch_hangup nothing is marked", "[read_hint]") {
  Pair p(false);
  bool q = false;
  CHECK(p.read(64, &q, [&] { p.send("abc"); }) == "abc");
  REQUIRE(q);
  CHECK(read_hint::will_try_read(p.s->socket()));
}
