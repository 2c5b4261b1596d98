// upstream/http1_conn: the head sent without a wait (poll_send_head) when the socket takes it,
// and the rest by send_head() when it takes only part; net/stream: Stream::try_write.
#include <catch2/catch.hpp>

#include <sys/socket.h>

#include <array>
#include <string>
#include <thread>

#include "http/outbound.h"
#include "upstream/http1_conn.h"

using namespace ferry::proxy;

namespace {

struct Pair {
  asio::io_context io;
  tcp::acceptor acc{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  tcp::socket server{io};
  Http1Upstream up{io.get_executor(), nullptr};

  Pair() {
    up.sock.socket().connect(acc.local_endpoint());
    acc.accept(server);
    up.sock.socket().non_blocking(true);
  }

  // Everything the server side can read until `n` bytes came (blocking reads).
  std::string read(size_t n) {
    std::string got(n, '\0');
    asio::read(server, asio::buffer(got));
    return got;
  }
};

http::OutboundRequest head(std::string_view method, std::string_view path) {
  http::OutboundRequest h;
  h.request_line(method, path);
  h.add_host("app.test");
  h.add_field("Content-Length", "5");
  h.end();
  return h;
}

}  // namespace

TEST_CASE("upstream send: a head the socket takes at once is sent without a wait") {
  Pair p;
  const http::OutboundRequest h = head("POST", "/x");
  const http::Header extra[] = {{"Ferry-App", "web"}};
  std::error_code ec;
  REQUIRE(p.up.poll_send_head(h, extra, "hello", true, ec));
  REQUIRE_FALSE(ec);
  const std::string want = std::string(h.open_wire()) + "Ferry-App: web\r\n\r\nhello";
  REQUIRE(p.read(want.size()) == want);
}

TEST_CASE("upstream send: what the socket did not take is sent by send_head, in order") {
  Pair p;
  // A small send buffer and a body far larger than the receiver's first window, nobody
  // reading yet. (The receive buffer keeps its default: a tiny one makes loopback TCP crawl
  // on delayed ACKs.)
  const int small = 4096;
  REQUIRE(::setsockopt(p.up.sock.socket().native_handle(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
  std::string body(1 << 20, 'b');
  for (size_t i = 0; i < body.size(); i += 997) body[i] = static_cast<char>('a' + i % 26);
  const http::OutboundRequest h = head("PUT", "/big");
  std::error_code ec;
  REQUIRE_FALSE(p.up.poll_send_head(h, {}, body, true, ec));  // part went, the rest waits
  REQUIRE_FALSE(ec);
  std::error_code sent = asio::error::operation_aborted;
  asio::co_spawn(p.io, [&]() -> awaitable<void> { sent = co_await p.up.send_head(h, {}, body, true); },
                 asio::detached);
  const std::string want = std::string(h.open_wire()) + "\r\n" + body;
  std::string got;
  std::thread reader([&] { got = p.read(want.size()); });
  p.io.run();
  reader.join();
  REQUIRE_FALSE(sent);
  REQUIRE(got.size() == want.size());
  REQUIRE(got == want);
}

TEST_CASE("try_write: the bytes the socket takes at once; a reset peer's error without a wait") {
  Pair p;
  std::error_code ec;
  const asio::const_buffer b = asio::buffer("x", 1);
  REQUIRE(p.up.sock.try_write({&b, 1}, ec) == 1);
  REQUIRE_FALSE(ec);
  REQUIRE(p.up.sock.try_write({}, ec) == 0);
  REQUIRE(ec == asio::error::would_block);
  // The peer is gone (reset): the error is the send's, not a wait.
  p.server.set_option(asio::socket_base::linger(true, 0));
  p.server.close();
  size_t n = 1;
  ec.clear();
  for (int k = 0; k < 100 && !ec.value(); ++k) n = p.up.sock.try_write({&b, 1}, ec);
  REQUIRE(n == 0);
  REQUIRE((ec == asio::error::connection_reset || ec == asio::error::broken_pipe));
}

TEST_CASE("try_write: several buffers arrive whole and in order, joined or not; empty ones write nothing") {
  Pair p;
  std::error_code ec;
  // Small: copied into one send(). Large (over Stream::kJoinAtMost): one sendmsg().
  for (const size_t big : {size_t{10}, Stream::kJoinAtMost, Stream::kJoinAtMost + 1, size_t{40000}}) {
    const std::string a = "head\r\n", b(big, 'b'), c = "tail";
    const std::array<asio::const_buffer, 4> bufs{asio::buffer(a), asio::const_buffer(), asio::buffer(b),
                                                 asio::buffer(c)};
    const size_t n = p.up.sock.try_write(bufs, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(n == a.size() + b.size() + c.size());  // loopback takes 40 KiB at once
    REQUIRE(p.read(n) == a + b + c);
  }
  const std::array<asio::const_buffer, 2> empty{asio::const_buffer(), asio::const_buffer()};
  REQUIRE(p.up.sock.try_write(empty, ec) == 0);
  REQUIRE_FALSE(ec);
}
