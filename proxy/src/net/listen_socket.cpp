#include "net/listen_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ferry::proxy {
namespace {

bool make_sockaddr(const config::Address& a, uint16_t port, sockaddr_storage& ss, socklen_t& len) {
  std::memset(&ss, 0, sizeof ss);
  if (a.is_v6()) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    len = sizeof *s6;
    return inet_pton(AF_INET6, a.host.c_str(), &s6->sin6_addr) == 1;
  }
  auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
  s4->sin_family = AF_INET;
  s4->sin_port = htons(port);
  len = sizeof *s4;
  return inet_pton(AF_INET, a.host.empty() ? "0.0.0.0" : a.host.c_str(), &s4->sin_addr) == 1;
}

int open_one(const config::Address& a, uint16_t port, uint16_t* bound_port, std::string& error) {
  sockaddr_storage ss;
  socklen_t len;
  if (!make_sockaddr(a, port, ss, len)) {
    error = "invalid address " + a.to_string();
    return -1;
  }
  int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (ss.ss_family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, SOMAXCONN) != 0) {
    error = "bind " + a.to_string() + ": " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  sockaddr_storage got{};
  socklen_t glen = sizeof got;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&got), &glen);
  *bound_port = ntohs(got.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&got)->sin6_port
                                                 : reinterpret_cast<sockaddr_in*>(&got)->sin_port);
  return fd;
}

}  // namespace

bool open_listen_sockets(const config::Address& addr, int count, ListenSockets& out, std::string& error) {
  out.fds.clear();
  uint16_t port = addr.port;
  for (int i = 0; i < count; ++i) {
    uint16_t bound = 0;
    int fd = open_one(addr, port, &bound, error);
    if (fd < 0) {
      close_listen_sockets(out);
      return false;
    }
    port = bound;  // port 0: every worker's socket shares the port the kernel chose first
    out.fds.push_back(fd);
  }
  config::Address real = addr;
  real.port = port;
  out.bound = real.to_string();
  return true;
}

void close_listen_sockets(ListenSockets& s) {
  for (int fd : s.fds) ::close(fd);
  s.fds.clear();
}

}  // namespace ferry::proxy
