#include "ferry/netlink/wireguard.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <set>

namespace ferry::netlink {

namespace {

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::set<IpPrefix> prefix_set(const std::vector<IpPrefix>& v) {
  std::set<IpPrefix> out;
  for (const auto& p : v) out.insert(p.masked());
  return out;
}

}  // namespace

std::optional<WgKey> WgKey::from_base64(std::string_view text) {
  text = trim(text);
  // 32 bytes = 43 significant characters + one '=' of padding.
  if (text.size() != 44 || text[43] != '=') return std::nullopt;
  WgKey k;
  uint32_t acc = 0;
  int bits = 0;
  size_t n = 0;
  for (size_t i = 0; i < 43; ++i) {
    int v = b64_value(text[i]);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n < 32) k.bytes[n++] = static_cast<uint8_t>(acc >> bits);
    }
  }
  // The 2 leftover bits must be zero (canonical encoding).
  if (n != 32 || (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return k;
}

std::string WgKey::to_base64() const {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (uint8_t b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kB64[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kB64[(acc << (6 - bits)) & 63];
  out += '=';
  return out;
}

std::optional<WgKey> WgKey::from_hex(std::string_view text) {
  text = trim(text);
  if (text.size() != 64) return std::nullopt;
  WgKey k;
  for (size_t i = 0; i < 32; ++i) {
    int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    k.bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return k;
}

std::string WgKey::to_hex() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (uint8_t b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

bool WgKey::is_zero() const {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

WgKey WgKey::clamped() const {
  WgKey k = *this;
  k.bytes[0] &= 248;
  k.bytes[31] = static_cast<uint8_t>((k.bytes[31] & 127) | 64);
  return k;
}

std::optional<WgKey> WgKey::public_key() const {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, bytes.data(), bytes.size()),
      &EVP_PKEY_free);
  if (!pkey) return std::nullopt;
  WgKey pub;
  size_t len = pub.bytes.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), pub.bytes.data(), &len) != 1 || len != 32)
    return std::nullopt;
  return pub;
}

const WgPeerStatus* WgDeviceStatus::find(const WgKey& key) const {
  for (const auto& p : peers)
    if (p.public_key == key) return &p;
  return nullptr;
}

WgSet reconcile(const WgDeviceConfig& want, const WgDeviceStatus& have) {
  WgSet set;
  if (!have.private_key || have.private_key->clamped() != want.private_key.clamped()) set.private_key = want.private_key;
  if (want.listen_port != 0 && want.listen_port != have.listen_port) set.listen_port = want.listen_port;

  std::set<WgKey> wanted;
  for (const WgPeerConfig& p : want.peers) {
    if (!wanted.insert(p.public_key).second) continue;  // a duplicate key: the first one wins
    const WgPeerStatus* cur = have.find(p.public_key);
    WgPeerOp op;
    op.public_key = p.public_key;
    if (!cur) {
      op.endpoint = p.endpoint;
      op.keepalive = p.keepalive;
      op.replace_allowed_ips = true;
      op.allowed_ips = p.allowed_ips;
      set.peers.push_back(std::move(op));
      continue;
    }
    bool changed = false;
    if (p.endpoint && cur->endpoint != p.endpoint) {
      op.endpoint = p.endpoint;
      changed = true;
    }
    if (cur->keepalive != p.keepalive) {
      op.keepalive = p.keepalive;
      changed = true;
    }
    if (prefix_set(cur->allowed_ips) != prefix_set(p.allowed_ips)) {
      op.replace_allowed_ips = true;
      op.allowed_ips = p.allowed_ips;
      changed = true;
    }
    if (changed) set.peers.push_back(std::move(op));
  }
  for (const WgPeerStatus& p : have.peers) {
    if (wanted.count(p.public_key)) continue;
    WgPeerOp op;
    op.public_key = p.public_key;
    op.remove = true;
    set.peers.push_back(std::move(op));
  }
  return set;
}

}  // namespace ferry::netlink
