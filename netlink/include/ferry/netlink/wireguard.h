// WireGuard device configuration and status, independent of how the device is driven (kernel
// generic netlink: wg_kernel.h; userspace API socket of wireguard-go: wg_uapi.h), and the pure
// reconcile() that turns "what we want" + "what the device has" into the smallest change.
//
// Values only; any thread. Nothing throws.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/netlink/ip.h"
#include "ferry/netlink/status.h"

namespace ferry::netlink {

// A Curve25519 key (private, public or preshared): 32 raw bytes.
struct WgKey {
  std::array<uint8_t, 32> bytes{};

  // The 44-character base64 form written by `wg genkey` (surrounding whitespace ignored).
  static std::optional<WgKey> from_base64(std::string_view text);
  std::string to_base64() const;
  // 64 lowercase hex digits: the userspace API's form.
  static std::optional<WgKey> from_hex(std::string_view text);
  std::string to_hex() const;
  bool is_zero() const;
  // The Curve25519-clamped form, as a device stores a private key (wg genkey output already is).
  WgKey clamped() const;
  // The public key of this private key (X25519 via OpenSSL). nullopt only if OpenSSL fails.
  std::optional<WgKey> public_key() const;

  auto operator<=>(const WgKey&) const = default;
};

// What we want for one peer.
struct WgPeerConfig {
  WgKey public_key;
  std::optional<IpEndpoint> endpoint;  // none: learnt from the peer's packets (roaming)
  std::vector<IpPrefix> allowed_ips;
  uint16_t keepalive = 0;  // persistent keepalive, seconds; 0 = off
};

// What we want for the device. Peers not listed are removed.
struct WgDeviceConfig {
  WgKey private_key;
  uint16_t listen_port = 0;  // 0 = leave the device's port as it is (random at creation)
  std::vector<WgPeerConfig> peers;
};

// One peer as the device reports it.
struct WgPeerStatus {
  WgKey public_key;
  std::optional<IpEndpoint> endpoint;
  int64_t last_handshake_sec = 0;  // unix time of the last handshake; 0 = never
  int64_t last_handshake_nsec = 0;
  uint64_t rx_bytes = 0;
  uint64_t tx_bytes = 0;
  std::vector<IpPrefix> allowed_ips;
  uint16_t keepalive = 0;
};

struct WgDeviceStatus {
  std::optional<WgKey> private_key;  // absent when the device has none (or it was not shown)
  std::optional<WgKey> public_key;   // derived from private_key when the back end omits it
  uint16_t listen_port = 0;
  uint32_t fwmark = 0;
  std::vector<WgPeerStatus> peers;
  const WgPeerStatus* find(const WgKey& public_key) const;
};

// One peer change. `remove` deletes the peer (other fields ignored). Otherwise the peer is
// created if missing and the fields that are set are changed; `replace_allowed_ips` replaces the
// peer's allowed IPs with `allowed_ips` (else those are added).
struct WgPeerOp {
  WgKey public_key;
  bool remove = false;
  std::optional<IpEndpoint> endpoint;
  std::optional<uint16_t> keepalive;
  bool replace_allowed_ips = false;
  std::vector<IpPrefix> allowed_ips;
};

// A change to a device. Peers not named are left alone (their sessions and handshakes too).
struct WgSet {
  std::optional<WgKey> private_key;
  std::optional<uint16_t> listen_port;
  std::vector<WgPeerOp> peers;
  bool empty() const { return !private_key && !listen_port && peers.empty(); }
};

// The smallest WgSet that makes `have` match `want`: device fields that differ (private keys
// compared clamped); new peers
// (upsert with everything); changed peers (only what changed: endpoint when configured and
// different, keepalive, the allowed IPs compared as sets of masked prefixes); peers of `have`
// not in `want` removed. Peers that match are not in the set at all, so their handshakes are
// not reset. Pure.
WgSet reconcile(const WgDeviceConfig& want, const WgDeviceStatus& have);

// Drives one WireGuard device. Thread: one control thread per instance; not thread-safe.
// Errors: Status with errno codes (ENOENT/ECONNREFUSED/ENODEV when the device is missing,
// EPERM, EPROTO for a malformed reply) and messages naming the interface.
class WgControl {
 public:
  virtual ~WgControl() = default;
  virtual const std::string& interface() const = 0;
  virtual const char* driver_name() const = 0;  // "kernel" or "userspace"
  virtual Status get(WgDeviceStatus& out) = 0;
  virtual Status set(const WgSet& change) = 0;
};

}  // namespace ferry::netlink
