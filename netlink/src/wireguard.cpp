#include "ferry/netlink/wireguard.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <set>

#include "ferry/util/base64.h"

namespace ferry::netlink {

namespace {

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
  // 32 bytes = 43 significant characters + one '=' of padding; the strict decoder refuses any
  // other padding and a last character whose 2 unused bits are not zero (non-canonical).
  auto bytes = util::base64_decode(trim(text), util::Base64Alphabet::standard, util::Base64Padding::required);
  if (!bytes || bytes->size() != 32) return std::nullopt;
  WgKey k;
  std::copy(bytes->begin(), bytes->end(), k.bytes.begin());
  return k;
}

std::string WgKey::to_base64() const {
  return util::base64_encode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
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
