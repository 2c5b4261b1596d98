// net/stream + net/tls_conn: TLS directly on non-blocking sockets (a connected TCP pair on
// loopback, one io_context): handshakes both ways, bytes already read before TLS (a PROXY
// header's leftovers), large transfers through partial writes, the end of a stream with and
// without close_notify, and cancellation.
#include <catch2/catch.hpp>

#include <string>

#include <asio/connect.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include "net/stream.h"
#include "tls/server_context.h"
#include "tls_test_certs.h"
#include "tls_test_handshake.h"

using namespace ferry::proxy;
using namespace tls_test;

namespace {

std::shared_ptr<SSL_CTX> server_ctx() {
  static Issued ca = make_ca("Test CA");
  CertSpec spec;
  spec.sans = {"a.example.com"};
  Issued leaf = make_leaf(spec, &ca);
  auto r = tls::load_certificate_pem(pem(leaf.cert.get()) + pem(ca.cert.get()) + pem(leaf.key.get()), "test");
  REQUIRE(r.ok());
  std::string error;
  auto ctx = tls::make_server_ctx(*r.material, {}, &error);
  INFO(error);
  REQUIRE(ctx);
  return ctx;
}

// A connected pair of TCP sockets on loopback.
std::pair<tcp::socket, tcp::socket> tcp_pair(asio::io_context& io) {
  tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket a(io), b(io);
  a.connect(acc.local_endpoint());
  acc.accept(b);
  return {std::move(a), std::move(b)};
}

template <typename F>
void run(asio::io_context& io, F&& f) {
  bool finished = false;
  asio::co_spawn(io, [&]() -> awaitable<void> {
    co_await f();
    finished = true;
  }, asio::detached);
  io.run_for(std::chrono::seconds(20));
  REQUIRE(finished);
}

struct Pair {
  std::shared_ptr<SSL_CTX> sctx = server_ctx();
  CtxPtr cctx = client_ctx();
  Stream client, server;
  Pair(asio::io_context& io, std::string prefix_for_server = {}) : Pair(io, tcp_pair(io), std::move(prefix_for_server)) {}
  Pair(asio::io_context&, std::pair<tcp::socket, tcp::socket> p, std::string prefix)
      : client(std::move(p.first)), server(std::move(p.second)) {
    SSL* c = SSL_new(cctx.get());
    SSL_set_tlsext_host_name(c, "a.example.com");
    client.start_client_tls(c);
    server.start_server_tls(SSL_new(sctx.get()), std::move(prefix));
  }
};

// Both handshakes, which must succeed: the tests start from an established connection.
awaitable<void> establish(Pair& p) {
  using namespace asio::experimental::awaitable_operators;
  std::error_code ce, se;
  co_await ([&]() -> awaitable<void> { ce = co_await p.client.handshake(); }() &&
            [&]() -> awaitable<void> { se = co_await p.server.handshake(); }());
  REQUIRE(!ce);
  REQUIRE(!se);
}

}  // namespace

TEST_CASE("TLS stream: handshake, both directions, and the end with close_notify", "[tls][stream]") {
  asio::io_context io;
  Pair p(io);
  run(io, [&]() -> awaitable<void> {
    co_await establish(p);
    CHECK(SSL_version(p.server.ssl()) == TLS1_3_VERSION);
    auto [we, wn] = co_await asio::async_write(p.client, asio::buffer(std::string_view("hello")), use_nothrow);
    CHECK(!we);
    char buf[5];
    auto [re, rn] = co_await asio::async_read(p.server, asio::buffer(buf), use_nothrow);
    CHECK(!re);
    CHECK(std::string(buf, rn) == "hello");
    auto [we2, wn2] = co_await asio::async_write(p.server, asio::buffer(std::string_view("world")), use_nothrow);
    CHECK(!we2);
    auto [re2, rn2] = co_await asio::async_read(p.client, asio::buffer(buf), use_nothrow);
    CHECK(std::string(buf, rn2) == "world");
    // Our close_notify, then the peer's read ends with eof (not "truncated").
    co_await p.client.shutdown_send();
    auto [re3, rn3] = co_await p.server.async_read_some(asio::buffer(buf), use_nothrow);
    CHECK(re3 == asio::error::eof);
    CHECK(rn3 == 0);
  });
}

TEST_CASE("TLS stream: bytes read before TLS started are the start of the TLS stream", "[tls][stream]") {
  asio::io_context io;
  auto [c, s] = tcp_pair(io);
  // The client's first flight is read off the server socket before TLS starts (as after a
  // PROXY header), then handed over as the prefix.
  Stream client(std::move(c));
  SSL* cs = SSL_new(client_ctx().release());
  SSL_CTX_free(SSL_get_SSL_CTX(cs));  // the SSL keeps its own reference
  SSL_set_tlsext_host_name(cs, "a.example.com");
  client.start_client_tls(cs);
  auto sctx = server_ctx();
  Stream server(asio::any_io_executor(io.get_executor()));
  run(io, [&]() -> awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    std::error_code ce, se;
    auto server_side = [&]() -> awaitable<void> {
      char first[7];
      auto [e, n] = co_await asio::async_read(s, asio::buffer(first), use_nothrow);  // part of the ClientHello
      REQUIRE(!e);
      server = Stream(std::move(s));
      server.start_server_tls(SSL_new(sctx.get()), std::string(first, n));
      se = co_await server.handshake();
    };
    co_await ([&]() -> awaitable<void> { ce = co_await client.handshake(); }() && server_side());
    CHECK(!ce);
    CHECK(!se);
    auto [we, wn] = co_await asio::async_write(server, asio::buffer(std::string_view("ok")), use_nothrow);
    CHECK(!we);
    CHECK(wn == 2);
    char buf[2];
    auto [re, rn] = co_await asio::async_read(client, asio::buffer(buf), use_nothrow);
    CHECK(!re);
    CHECK(std::string(buf, rn) == "ok");
  });
}

TEST_CASE("TLS stream: 4 MiB each way arrive intact through partial writes", "[tls][stream]") {
  asio::io_context io;
  Pair p(io);
  std::string big(4 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 + (i >> 13));
  run(io, [&]() -> awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    co_await establish(p);
    std::string got_s(big.size(), '\0'), got_c(big.size(), '\0');
    std::error_code e1, e2, e3, e4;
    co_await ([&]() -> awaitable<void> { std::tie(e1, std::ignore) = co_await asio::async_write(p.client, asio::buffer(big), use_nothrow); }() &&
              [&]() -> awaitable<void> { std::tie(e2, std::ignore) = co_await asio::async_read(p.server, asio::buffer(got_s), use_nothrow); }() &&
              [&]() -> awaitable<void> { std::tie(e3, std::ignore) = co_await asio::async_write(p.server, asio::buffer(big), use_nothrow); }() &&
              [&]() -> awaitable<void> { std::tie(e4, std::ignore) = co_await asio::async_read(p.client, asio::buffer(got_c), use_nothrow); }());
    CHECK(!e1);
    CHECK(!e2);
    CHECK(!e3);
    CHECK(!e4);
    CHECK(got_s == big);
    CHECK(got_c == big);
  });
}

TEST_CASE("TLS stream: try_write takes what it can at once; the bytes of a write that must wait go again", "[tls][stream]") {
  asio::io_context io;
  Pair p(io);
  std::string big(8 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 + (i >> 13));
  run(io, [&]() -> awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    co_await establish(p);
    // Two buffers, one record, without waiting.
    std::error_code ec;
    std::array<asio::const_buffer, 2> two{asio::buffer("head", 4), asio::buffer("body", 4)};
    REQUIRE(p.server.try_write(two, ec) == 8);
    REQUIRE(!ec);
    std::string got(8, '\0');
    auto [rec, rn] = co_await asio::async_read(p.client, asio::buffer(got), use_nothrow);
    REQUIRE(!rec);
    REQUIRE(got == "headbody");
    // The client reads nothing: the socket fills, and a write that must wait reports nothing
    // taken (OpenSSL may hold part of its record).
    p.server.socket().set_option(asio::socket_base::send_buffer_size(8192));
    size_t off = 0;
    ec.clear();
    while (!ec && off < big.size()) {
      const asio::const_buffer b = asio::buffer(big.data() + off, std::min<size_t>(16384, big.size() - off));
      const size_t n = p.server.try_write({&b, 1}, ec);
      REQUIRE((ec ? n == 0 : n > 0));
      off += n;
    }
    REQUIRE(ec == asio::error::would_block);
    REQUIRE(off < big.size());
    // The rest, from the same byte, with a waiting write while the client reads it all.
    std::string all(big.size(), '\0');
    std::error_code we, re;
    co_await ([&]() -> awaitable<void> {
      std::tie(we, std::ignore) = co_await asio::async_write(p.server, asio::buffer(big.data() + off, big.size() - off), use_nothrow);
    }() && [&]() -> awaitable<void> { std::tie(re, std::ignore) = co_await asio::async_read(p.client, asio::buffer(all), use_nothrow); }());
    CHECK(!we);
    CHECK(!re);
    CHECK(all == big);
  });
}

TEST_CASE("TLS stream: a peer that closes without close_notify ends the read as truncated", "[tls][stream]") {
  asio::io_context io;
  Pair p(io);
  run(io, [&]() -> awaitable<void> {
    co_await establish(p);
    // A TCP FIN with no close_notify before it (close() could send a reset: the client has
    // unread session tickets).
    p.client.socket().shutdown(tcp::socket::shutdown_send);
    char buf[16];
    auto [re, rn] = co_await p.server.async_read_some(asio::buffer(buf), use_nothrow);
    CHECK(re == asio::ssl::error::stream_truncated);
    CHECK(rn == 0);
  });
}

TEST_CASE("TLS stream: cancel() aborts a pending read; a handshake against garbage fails", "[tls][stream]") {
  asio::io_context io;
  Pair p(io);
  run(io, [&]() -> awaitable<void> {
    co_await establish(p);
    asio::steady_timer t(io);
    t.expires_after(std::chrono::milliseconds(50));
    t.async_wait([&](std::error_code) { p.server.cancel(); });
    char buf[16];
    auto [re, rn] = co_await p.server.async_read_some(asio::buffer(buf), use_nothrow);
    CHECK(re == asio::error::operation_aborted);
  });

  asio::io_context io2;
  auto [c, s] = tcp_pair(io2);
  Stream server(std::move(s));
  auto sctx = server_ctx();
  server.start_server_tls(SSL_new(sctx.get()), {});
  std::string junk = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  asio::write(c, asio::buffer(junk));
  run(io2, [&]() -> awaitable<void> {
    std::error_code e = co_await server.handshake();
    CHECK(e);
    CHECK(e.category() == asio::error::get_ssl_category());
  });
}
