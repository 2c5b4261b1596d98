// The mesh control plane's pure parts: reading the WireGuard private key file, turning the
// `mesh` section into a netlink::WgDeviceConfig and the routes the interface needs, and the
// status snapshot (with its JSON form for GET /api/v1/mesh).
//
// Functions are pure apart from read_private_key (reads one file); any thread. No exceptions:
// errors are returned as strings naming the file, the peer or the directive.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ferry/configlang/config.h"
#include "ferry/netlink/ip.h"
#include "ferry/netlink/wireguard.h"

namespace ferry::daemon::mesh {

// Reads `path`: one base64 private key (wg genkey output; surrounding whitespace ignored).
// Refuses a file that group or others may read or write (mode & 077): the key is the node's
// identity in the mesh; the error says to chmod 600 it. Errors name the path: "private key
// /etc/ferry/mesh.key: No such file or directory", "...: not a base64 WireGuard key".
bool read_private_key(const std::string& path, netlink::WgKey& out, std::string& error);

// netlink value of config types; nullopt for an unparsable literal (the parser validated them).
std::optional<netlink::IpPrefix> to_prefix(const config::Cidr& c);
std::optional<netlink::IpEndpoint> to_endpoint(const config::Address& a);

// The device configuration for `mesh` with `key`. Fails (error names the peer) on a bad
// public key or address.
bool device_config(const config::Mesh& mesh, const netlink::WgKey& key, netlink::WgDeviceConfig& out,
                   std::string& error);

// The routes to add via the interface: every peer's allowed IPs (masked, deduplicated) that the
// mesh address's own prefix route does not already cover.
std::vector<netlink::IpPrefix> peer_routes(const config::Mesh& mesh);

// What the admin API and the console show. Values only.
struct PeerStatus {
  std::string name;        // from the config; empty for a device peer the config does not name
  std::string public_key;  // base64
  std::string endpoint;    // "ip:port", empty when unknown
  int64_t last_handshake = 0;      // unix seconds, 0 = never
  int64_t handshake_age = -1;      // seconds since then, -1 = never
  uint64_t rx_bytes = 0, tx_bytes = 0;
  std::vector<std::string> allowed_ips;
};
struct AnycastStatus {
  std::string address;    // CIDR
  std::string interface;
  bool added_by_ferry = false;  // false: it was there before (left alone at removal)
  bool present = false;         // configured and on the interface
};
struct MeshStatus {
  bool configured = false;  // the config has a mesh section
  std::string interface;
  std::string driver;       // "kernel", "userspace", or "" when not running
  std::string public_key;   // this node's, base64
  uint16_t listen_port = 0;
  std::string error;        // the last apply error, empty when the last apply worked
  std::vector<PeerStatus> peers;
  std::vector<AnycastStatus> anycast;
};

// Builds the peer list from a device status, naming peers by their configured public keys.
std::vector<PeerStatus> peer_status(const config::Mesh* mesh, const netlink::WgDeviceStatus& dev, int64_t now);

// The data plane's view of a peer (the prober's measurements; proxy::MeshPeerInfo copied by the
// daemon, which links both).
struct BackhaulPeerStatus {
  std::string name, region, address;
  uint32_t rtt_us = 0;
  bool rtt_fixed = false, reachable = true;
  int64_t last_answer_age_ms = -1, last_report_age_ms = -1;
  uint64_t pings = 0, ping_failures = 0;
};

// `backhaul`: added as the "backhaul" array.
std::string to_json(const MeshStatus& s, const std::vector<BackhaulPeerStatus>& backhaul = {});

// The latest snapshot, shared between the manager thread (set) and admin threads (get).
class MeshStatusCell {
 public:
  MeshStatus get() const {
    std::lock_guard lock(mu_);
    return s_;
  }
  void set(MeshStatus s) {
    std::lock_guard lock(mu_);
    s_ = std::move(s);
  }

 private:
  mutable std::mutex mu_;
  MeshStatus s_;
};

}  // namespace ferry::daemon::mesh
