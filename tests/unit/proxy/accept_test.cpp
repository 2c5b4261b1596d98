// net/accept: accept_one() and adopt_accepted() on a real loopback listener.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>

#include "net/accept.h"

using namespace ferry::proxy;

TEST_CASE("accept: an adopted connection is non-blocking for asio without another system call") {
  asio::io_context io;
  tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  acc.non_blocking(true);
  ListenerAddr la;
  REQUIRE(listener_addr(acc.native_handle(), la));
  REQUIRE_FALSE(la.wildcard);

  int fd = -1;
  PeerInfo peer;
  REQUIRE(accept_one(acc.native_handle(), la, fd, peer) == EAGAIN);  // nothing pending yet

  tcp::socket client(io);
  client.connect(acc.local_endpoint());
  REQUIRE(accept_one(acc.native_handle(), la, fd, peer) == 0);
  REQUIRE(peer.client.family() == AF_INET);
  REQUIRE((::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);  // from accept4 itself

  tcp::socket sock(io);
  REQUIRE(adopt_accepted(sock, fd, false));
  REQUIRE(sock.native_handle() == fd);
  REQUIRE(sock.native_non_blocking());  // asio knows: no FIONBIO before its first operation

  // asio's operations work on it as on a socket it accepted itself.
  asio::write(client, asio::buffer("ping", 4));
  char got[4] = {};
  size_t n = 0;
  sock.async_read_some(asio::buffer(got), [&](std::error_code ec, size_t k) {
    REQUIRE_FALSE(ec);
    n = k;
  });
  io.run();
  REQUIRE(n == 4);
  REQUIRE(std::string_view(got, 4) == "ping");
  std::error_code ec;
  sock.close(ec);
  REQUIRE_FALSE(ec);
}
