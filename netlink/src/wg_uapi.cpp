#include "ferry/netlink/wg_uapi.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>

namespace ferry::netlink {

namespace {

constexpr int kTimeoutMs = 5000;
constexpr size_t kMaxReply = 4 << 20;  // a device with thousands of peers stays well below

template <typename T>
bool parse_uint(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

Status bad_line(std::string_view line) {
  return Status::error(EPROTO, "malformed userspace API line '" + std::string(line) + "'");
}

}  // namespace

std::string uapi_format_set(const WgSet& c) {
  std::string out = "set=1\n";
  if (c.private_key) out += "private_key=" + c.private_key->to_hex() + "\n";
  if (c.listen_port) out += "listen_port=" + std::to_string(*c.listen_port) + "\n";
  for (const WgPeerOp& p : c.peers) {
    out += "public_key=" + p.public_key.to_hex() + "\n";
    if (p.remove) {
      out += "remove=true\n";
      continue;
    }
    if (p.endpoint) out += "endpoint=" + p.endpoint->to_string() + "\n";
    if (p.keepalive) out += "persistent_keepalive_interval=" + std::to_string(*p.keepalive) + "\n";
    if (p.replace_allowed_ips) out += "replace_allowed_ips=true\n";
    for (const IpPrefix& a : p.allowed_ips) out += "allowed_ip=" + a.to_string() + "\n";
  }
  out += "\n";
  return out;
}

Status uapi_parse_get(std::string_view reply, WgDeviceStatus& out) {
  out = WgDeviceStatus{};
  WgPeerStatus* peer = nullptr;
  bool saw_errno = false;
  while (!reply.empty()) {
    size_t nl = reply.find('\n');
    std::string_view line = reply.substr(0, nl);
    reply = nl == std::string_view::npos ? std::string_view() : reply.substr(nl + 1);
    if (line.empty()) break;  // the end of the reply
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) return bad_line(line);
    std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "errno") {
      int e = 0;
      if (!parse_uint(value, e)) return bad_line(line);
      if (e != 0) return Status::error(e, std::string("get: ") + std::strerror(e));
      saw_errno = true;
    } else if (key == "private_key") {
      auto k = WgKey::from_hex(value);
      if (!k) return bad_line(line);
      if (!k->is_zero()) {
        out.private_key = *k;
        out.public_key = k->public_key();
      }
    } else if (key == "listen_port") {
      if (!parse_uint(value, out.listen_port)) return bad_line(line);
    } else if (key == "fwmark") {
      if (!parse_uint(value, out.fwmark)) return bad_line(line);
    } else if (key == "public_key") {
      auto k = WgKey::from_hex(value);
      if (!k) return bad_line(line);
      out.peers.push_back(WgPeerStatus{});
      peer = &out.peers.back();
      peer->public_key = *k;
    } else if (!peer) {
      continue;  // an unknown device-level key
    } else if (key == "endpoint") {
      // wireguard-go shows "(none)" for no endpoint on some versions; anything unparsable is
      // treated as no endpoint rather than an error.
      peer->endpoint = IpEndpoint::parse(value);
    } else if (key == "last_handshake_time_sec") {
      if (!parse_uint(value, peer->last_handshake_sec)) return bad_line(line);
    } else if (key == "last_handshake_time_nsec") {
      if (!parse_uint(value, peer->last_handshake_nsec)) return bad_line(line);
    } else if (key == "rx_bytes") {
      if (!parse_uint(value, peer->rx_bytes)) return bad_line(line);
    } else if (key == "tx_bytes") {
      if (!parse_uint(value, peer->tx_bytes)) return bad_line(line);
    } else if (key == "persistent_keepalive_interval") {
      if (!parse_uint(value, peer->keepalive)) return bad_line(line);
    } else if (key == "allowed_ip") {
      auto p = IpPrefix::parse(value);
      if (!p) return bad_line(line);
      peer->allowed_ips.push_back(*p);
    }
    // preshared_key, protocol_version and keys added later: ignored.
  }
  if (!saw_errno) return Status::error(EPROTO, "get: reply without errno");
  return Status::success();
}

Status uapi_parse_errno(std::string_view reply) {
  size_t pos = reply.find("errno=");
  if (pos == std::string_view::npos || (pos != 0 && reply[pos - 1] != '\n'))
    return Status::error(EPROTO, "set: reply without errno");
  std::string_view v = reply.substr(pos + 6);
  v = v.substr(0, v.find('\n'));
  int e = 0;
  if (!parse_uint(v, e)) return bad_line(reply.substr(pos, v.size() + 6));
  if (e != 0) return Status::error(e, std::string("set: ") + std::strerror(e));
  return Status::success();
}

UapiWg::UapiWg(std::string interface, std::string dir) : iface_(std::move(interface)), dir_(std::move(dir)) {}

Status UapiWg::exchange(const std::string& what, const std::string& request, std::string& reply) {
  reply.clear();
  const std::string path = socket_path();
  const std::string ctx = what + " " + iface_ + " (" + path + ")";
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) return Status::error(ENAMETOOLONG, ctx + ": path too long");
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::error(errno, ctx + ": socket: " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0)
    return Status::error(errno, ctx + ": " + std::strerror(errno));

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kTimeoutMs);
  auto wait = [&](short events) -> int {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return ETIMEDOUT;
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc == 0) return ETIMEDOUT;
    if (rc < 0) return errno == EINTR ? 0 : errno;
    return 0;
  };
  size_t sent = 0;
  while (sent < request.size()) {
    if (int e = wait(POLLOUT)) return Status::error(e, ctx + ": " + std::strerror(e));
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return Status::error(errno, ctx + ": " + std::strerror(errno));
    }
    sent += static_cast<size_t>(n);
  }
  char buf[8192];
  for (;;) {
    // A complete reply ends with an empty line; "errno=" is its last key.
    size_t pos = reply.find("errno=");
    if (pos != std::string::npos && reply.find("\n\n", pos) != std::string::npos) break;
    if (int e = wait(POLLIN)) return Status::error(e, ctx + ": " + std::strerror(e));
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return Status::error(errno, ctx + ": " + std::strerror(errno));
    }
    if (n == 0) {
      if (reply.find("errno=") != std::string::npos) break;  // closed right after the last line
      return Status::error(EPROTO, ctx + ": connection closed before the end of the reply");
    }
    reply.append(buf, static_cast<size_t>(n));
    if (reply.size() > kMaxReply) return Status::error(EMSGSIZE, ctx + ": reply too large");
  }
  return Status::success();
}

Status UapiWg::get(WgDeviceStatus& out) {
  std::string reply;
  if (Status s = exchange("get", "get=1\n\n", reply); !s) return s;
  Status s = uapi_parse_get(reply, out);
  if (!s) s.message = "wireguard " + iface_ + ": " + s.message;
  return s;
}

Status UapiWg::set(const WgSet& change) {
  if (change.empty()) return Status::success(false);
  std::string reply;
  if (Status s = exchange("set", uapi_format_set(change), reply); !s) return s;
  Status s = uapi_parse_errno(reply);
  if (!s) {
    s.message = "wireguard " + iface_ + ": " + s.message;
    return s;
  }
  return Status::success(true);
}

}  // namespace ferry::netlink
