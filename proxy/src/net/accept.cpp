#include "net/accept.h"

#include <arpa/inet.h>
#include <cerrno>

namespace ferry::proxy {

namespace {

bool is_wildcard(const SockAddr& a) {
  if (a.family() == AF_INET) return a.in4.sin_addr.s_addr == htonl(INADDR_ANY);
  if (a.family() == AF_INET6) return IN6_IS_ADDR_UNSPECIFIED(&a.in6.sin6_addr);
  return true;
}

}  // namespace

bool listener_addr(int listen_fd, ListenerAddr& out) {
  socklen_t len = sizeof out.local;
  if (::getsockname(listen_fd, &out.local.sa, &len) != 0) return false;
  out.wildcard = is_wildcard(out.local);
  return true;
}

int accept_one(int listen_fd, const ListenerAddr& listener, int& fd, PeerInfo& peer) {
  socklen_t len = sizeof peer.client;
  fd = ::accept4(listen_fd, &peer.client.sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) return errno;
  peer.socket = peer.client;
  if (listener.wildcard) {
    len = sizeof peer.local;
    ::getsockname(fd, &peer.local.sa, &len);
  } else {
    peer.local = listener.local;
  }
  peer.local_port = port_of(peer.local);
  return 0;
}

namespace {

// Reaches the implementation of an asio socket: a pointer to the protected member, formed in
// a derived class, applies to any basic_socket (the standard access rule for protected members).
struct SocketImpl : tcp::socket {
  static auto& of(tcp::socket& s) {
    auto member = &SocketImpl::impl_;
    return (s.*member).get_implementation();
  }
};

}  // namespace

bool adopt_accepted(tcp::socket& sock, int fd, bool v6) {
  std::error_code ec;
  sock.assign(v6 ? tcp::v6() : tcp::v4(), fd, ec);
  if (ec) {
    ::close(fd);
    return false;
  }
  auto& impl = SocketImpl::of(sock);
  impl.state_ = static_cast<asio::detail::socket_ops::state_type>(
      (impl.state_ & ~asio::detail::socket_ops::possible_dup) | asio::detail::socket_ops::internal_non_blocking);
  return true;
}

}  // namespace ferry::proxy
