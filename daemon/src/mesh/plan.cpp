#include "mesh/plan.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <set>

#include "ferry/util/json.h"

namespace ferry::daemon::mesh {

bool read_private_key(const std::string& path, netlink::WgKey& out, std::string& error) {
  const std::string what = "private key " + path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = what + ": " + std::strerror(errno);
    return false;
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    error = what + ": " + std::strerror(errno);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    error = what + ": not a regular file";
    return false;
  }
  if (st.st_mode & 077) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    error = what + ": group or others may access it (mode " + mode + "); chmod 600 it";
    return false;
  }
  char buf[256];
  ssize_t n = ::read(fd, buf, sizeof buf);
  if (n < 0) {
    error = what + ": " + std::strerror(errno);
    return false;
  }
  auto key = netlink::WgKey::from_base64(std::string_view(buf, static_cast<size_t>(n)));
  if (!key || n == static_cast<ssize_t>(sizeof buf)) {
    error = what + ": not a base64 WireGuard key (expected the 44 characters of `wg genkey`)";
    return false;
  }
  out = *key;
  return true;
}

std::optional<netlink::IpPrefix> to_prefix(const config::Cidr& c) {
  return netlink::IpPrefix::parse(c.to_string());
}

std::optional<netlink::IpEndpoint> to_endpoint(const config::Address& a) {
  return netlink::IpEndpoint::parse(a.to_string());
}

bool device_config(const config::Mesh& mesh, const netlink::WgKey& key, netlink::WgDeviceConfig& out,
                   std::string& error) {
  out = netlink::WgDeviceConfig{};
  out.private_key = key;
  out.listen_port = mesh.listen_port;
  for (const config::MeshPeer& p : mesh.peers) {
    netlink::WgPeerConfig pc;
    auto pub = netlink::WgKey::from_base64(p.public_key);
    if (!pub) {
      error = "mesh peer " + p.name + ": public-key is not a base64 WireGuard key";
      return false;
    }
    pc.public_key = *pub;
    if (p.endpoint) {
      pc.endpoint = to_endpoint(*p.endpoint);
      if (!pc.endpoint) {
        error = "mesh peer " + p.name + ": bad endpoint " + p.endpoint->to_string();
        return false;
      }
    }
    for (const config::Cidr& c : p.allowed_ips) {
      auto pre = to_prefix(c);
      if (!pre) {
        error = "mesh peer " + p.name + ": bad allowed-ips " + c.to_string();
        return false;
      }
      pc.allowed_ips.push_back(*pre);
    }
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(p.keepalive).count();
    pc.keepalive = static_cast<uint16_t>(std::min<int64_t>(secs, 65535));
    out.peers.push_back(std::move(pc));
  }
  return true;
}

std::vector<netlink::IpPrefix> peer_routes(const config::Mesh& mesh) {
  std::optional<netlink::IpPrefix> own = to_prefix(mesh.address);
  std::set<netlink::IpPrefix> seen;
  std::vector<netlink::IpPrefix> out;
  for (const config::MeshPeer& p : mesh.peers)
    for (const config::Cidr& c : p.allowed_ips) {
      auto pre = to_prefix(c);
      if (!pre) continue;
      netlink::IpPrefix m = pre->masked();
      if (own && own->contains(m)) continue;  // the address's prefix route covers it
      if (seen.insert(m).second) out.push_back(m);
    }
  return out;
}

std::vector<PeerStatus> peer_status(const config::Mesh* mesh, const netlink::WgDeviceStatus& dev, int64_t now) {
  std::vector<PeerStatus> out;
  for (const netlink::WgPeerStatus& p : dev.peers) {
    PeerStatus s;
    s.public_key = p.public_key.to_base64();
    if (mesh)
      for (const config::MeshPeer& mp : mesh->peers)
        if (auto k = netlink::WgKey::from_base64(mp.public_key); k && *k == p.public_key) s.name = mp.name;
    if (p.endpoint) s.endpoint = p.endpoint->to_string();
    s.last_handshake = p.last_handshake_sec;
    s.handshake_age = p.last_handshake_sec > 0 ? std::max<int64_t>(0, now - p.last_handshake_sec) : -1;
    s.rx_bytes = p.rx_bytes;
    s.tx_bytes = p.tx_bytes;
    for (const auto& a : p.allowed_ips) s.allowed_ips.push_back(a.to_string());
    out.push_back(std::move(s));
  }
  return out;
}

std::string to_json(const MeshStatus& s, const std::vector<BackhaulPeerStatus>& backhaul) {
  util::JsonWriter w;
  w.begin_object().field("configured", s.configured).field("interface", s.interface).field("driver", s.driver);
  w.field("public_key", s.public_key).field("listen_port", s.listen_port).field("error", s.error);
  w.key("peers").begin_array();
  for (const PeerStatus& p : s.peers) {
    w.begin_object().field("name", p.name).field("public_key", p.public_key).field("endpoint", p.endpoint);
    w.field("last_handshake", p.last_handshake).field("handshake_age_seconds", p.handshake_age);
    w.field("rx_bytes", p.rx_bytes).field("tx_bytes", p.tx_bytes).field_strings("allowed_ips", p.allowed_ips);
    w.end_object();
  }
  w.end_array().key("anycast").begin_array();
  for (const AnycastStatus& a : s.anycast) {
    w.begin_object().field("address", a.address).field("interface", a.interface);
    w.field("added_by_ferry", a.added_by_ferry).field("present", a.present).end_object();
  }
  w.end_array().key("backhaul").begin_array();
  for (const BackhaulPeerStatus& p : backhaul) {
    w.begin_object().field("name", p.name).field("region", p.region).field("address", p.address);
    w.field("reachable", p.reachable).field("rtt_us", p.rtt_us).field("rtt_fixed", p.rtt_fixed);
    w.field("last_answer_age_ms", p.last_answer_age_ms).field("last_report_age_ms", p.last_report_age_ms);
    w.field("pings", p.pings).field("ping_failures", p.ping_failures).end_object();
  }
  w.end_array().end_object();
  return w.take();
}

}  // namespace ferry::daemon::mesh
