#include <catch2/catch.hpp>

#include "ferry/netlink/ip.h"
#include "ferry/netlink/wireguard.h"

using namespace ferry::netlink;

namespace {

// `wg genkey` / `wg pubkey` output.
const char* kPriv = "EMfMTJ5g8Vw8cek2IOgSQqoiC4ePuazTwWUX7r9ugFA=";
const char* kPub = "q48NkSN2PG6gm9UhxtXY6JFHCN1uOueHdp0XxULF+GM=";
const char* kPrivHex = "10c7cc4c9e60f15c3c71e93620e81242aa220b878fb9acd3c16517eebf6e8050";

WgKey key(uint8_t fill) {
  WgKey k;
  k.bytes.fill(fill);
  return k;
}
IpPrefix pfx(const char* s) { return *IpPrefix::parse(s); }
IpEndpoint ep(const char* s) { return *IpEndpoint::parse(s); }

}  // namespace

TEST_CASE("WgKey base64, hex and the public key", "[netlink][wireguard]") {
  auto k = WgKey::from_base64(kPriv);
  REQUIRE(k);
  CHECK(k->to_hex() == kPrivHex);
  CHECK(k->to_base64() == kPriv);
  CHECK(WgKey::from_hex(kPrivHex) == k);
  auto pub = k->public_key();
  REQUIRE(pub);
  CHECK(pub->to_base64() == kPub);
  CHECK(WgKey::from_base64(std::string("  ") + kPriv + "\n"));  // a key file's newline

  CHECK_FALSE(WgKey::from_base64(""));
  CHECK_FALSE(WgKey::from_base64("EMfMTJ5g8Vw8cek2IOgSQqoiC4ePuazTwWUX7r9ugFA"));    // no padding
  CHECK_FALSE(WgKey::from_base64("EMfMTJ5g8Vw8cek2IOgSQqoiC4ePuazTwWUX7r9ugF!="));   // bad char
  CHECK_FALSE(WgKey::from_base64("EMfMTJ5g8Vw8cek2IOgSQqoiC4ePuazTwWUX7r9ugFB="));   // stray bits
  CHECK_FALSE(WgKey::from_base64("QUJD"));
  CHECK_FALSE(WgKey::from_hex("10c7"));
  CHECK_FALSE(WgKey::from_hex(std::string(64, 'g')));
  CHECK(key(0).is_zero());
  CHECK_FALSE(key(1).is_zero());
}

TEST_CASE("IP prefixes and endpoints", "[netlink][ip]") {
  CHECK(pfx("10.0.0.1/24").to_string() == "10.0.0.1/24");
  CHECK(pfx("10.0.0.1/24").masked().to_string() == "10.0.0.0/24");
  CHECK(pfx("fdaa:0:1::1/48").masked().to_string() == "fdaa:0:1::/48");
  CHECK(pfx("10.9.9.9").prefix == 32);
  CHECK(pfx("::1").prefix == 128);
  CHECK(pfx("10.1.2.3/13").masked().to_string() == "10.0.0.0/13");
  CHECK_FALSE(IpPrefix::parse("10.0.0.0/33"));
  CHECK_FALSE(IpPrefix::parse("10.0.0.0/"));
  CHECK_FALSE(IpPrefix::parse("nope/8"));
  CHECK(pfx("fdaa::/16").contains(pfx("fdaa:0:2::/48")));
  CHECK_FALSE(pfx("fdaa:0:1::/48").contains(pfx("fdaa:0:2::/48")));
  CHECK_FALSE(pfx("10.0.0.0/8").contains(pfx("fdaa::/16")));
  CHECK_FALSE(pfx("10.0.0.0/24").contains(pfx("10.0.0.0/16")));

  CHECK(ep("198.51.100.7:51820").to_string() == "198.51.100.7:51820");
  CHECK(ep("[fdaa::1]:4280").to_string() == "[fdaa::1]:4280");
  CHECK_FALSE(IpEndpoint::parse("fdaa::1:4280"));
  CHECK_FALSE(IpEndpoint::parse("1.2.3.4"));
  CHECK_FALSE(IpEndpoint::parse("1.2.3.4:70000"));
  CHECK_FALSE(IpEndpoint::parse("[1.2.3.4]:80"));
}

TEST_CASE("reconcile: empty device gets everything", "[netlink][wireguard]") {
  WgDeviceConfig want;
  want.private_key = key(1);
  want.listen_port = 51820;
  want.peers.push_back({key(2), ep("10.0.0.2:51820"), {pfx("fdaa:0:2::/48")}, 25});
  WgDeviceStatus have;
  WgSet set = reconcile(want, have);
  REQUIRE(set.private_key);
  CHECK(*set.private_key == key(1));
  CHECK(set.listen_port == std::optional<uint16_t>(51820));
  REQUIRE(set.peers.size() == 1);
  const WgPeerOp& op = set.peers[0];
  CHECK(op.public_key == key(2));
  CHECK_FALSE(op.remove);
  CHECK(op.endpoint == ep("10.0.0.2:51820"));
  CHECK(op.keepalive == std::optional<uint16_t>(25));
  CHECK(op.replace_allowed_ips);
  CHECK(op.allowed_ips == std::vector<IpPrefix>{pfx("fdaa:0:2::/48")});
}

TEST_CASE("reconcile: a device that matches needs nothing", "[netlink][wireguard]") {
  WgDeviceConfig want;
  want.private_key = key(1);
  want.listen_port = 51820;
  want.peers.push_back({key(2), ep("10.0.0.2:51820"), {pfx("fdaa:0:2::/48"), pfx("10.1.0.0/16")}, 25});
  want.peers.push_back({key(3), std::nullopt, {pfx("fdaa:0:3::1/48")}, 0});  // host bits set
  WgDeviceStatus have;
  have.private_key = key(1);
  have.listen_port = 51820;
  WgPeerStatus p2;
  p2.public_key = key(2);
  p2.endpoint = ep("10.0.0.2:51820");
  p2.allowed_ips = {pfx("10.1.0.0/16"), pfx("fdaa:0:2::/48")};  // other order
  p2.keepalive = 25;
  p2.last_handshake_sec = 1700000000;
  WgPeerStatus p3;
  p3.public_key = key(3);
  p3.endpoint = ep("192.0.2.9:40000");  // roamed; no endpoint configured, so left alone
  p3.allowed_ips = {pfx("fdaa:0:3::/48")};
  have.peers = {p3, p2};
  WgSet set = reconcile(want, have);
  CHECK(set.empty());
}

TEST_CASE("reconcile: changed, added and removed peers", "[netlink][wireguard]") {
  WgDeviceConfig want;
  want.private_key = key(1);
  want.listen_port = 0;  // leave the port alone
  want.peers.push_back({key(2), ep("10.0.0.2:51820"), {pfx("fdaa:0:2::/48")}, 25});  // unchanged
  want.peers.push_back({key(3), ep("10.0.0.30:51820"), {pfx("fdaa:0:3::/48")}, 0});  // endpoint moved
  want.peers.push_back({key(4), std::nullopt, {pfx("fdaa:0:4::/48"), pfx("10.4.0.0/16")}, 10});  // ips + keepalive
  want.peers.push_back({key(6), std::nullopt, {}, 0});                                 // new
  WgDeviceStatus have;
  have.private_key = key(9);  // a different key: replaced
  have.listen_port = 40000;
  auto peer = [](uint8_t k, const char* e, std::vector<IpPrefix> ips, uint16_t ka) {
    WgPeerStatus p;
    p.public_key = key(k);
    if (e) p.endpoint = ep(e);
    p.allowed_ips = std::move(ips);
    p.keepalive = ka;
    return p;
  };
  have.peers = {peer(2, "10.0.0.2:51820", {pfx("fdaa:0:2::/48")}, 25),
                peer(3, "10.0.0.3:51820", {pfx("fdaa:0:3::/48")}, 0),
                peer(4, nullptr, {pfx("fdaa:0:4::/48")}, 0),
                peer(5, "10.0.0.5:51820", {pfx("fdaa:0:5::/48")}, 0)};
  WgSet set = reconcile(want, have);
  CHECK(set.private_key == std::optional<WgKey>(key(1)));
  CHECK_FALSE(set.listen_port);
  REQUIRE(set.peers.size() == 4);
  // Peer 2 is not in the set at all.
  for (const auto& op : set.peers) CHECK(op.public_key != key(2));
  const WgPeerOp& p3 = set.peers[0];
  CHECK(p3.public_key == key(3));
  CHECK(p3.endpoint == ep("10.0.0.30:51820"));
  CHECK_FALSE(p3.keepalive);
  CHECK_FALSE(p3.replace_allowed_ips);
  CHECK(p3.allowed_ips.empty());
  const WgPeerOp& p4 = set.peers[1];
  CHECK(p4.public_key == key(4));
  CHECK_FALSE(p4.endpoint);
  CHECK(p4.keepalive == std::optional<uint16_t>(10));
  CHECK(p4.replace_allowed_ips);
  CHECK(p4.allowed_ips.size() == 2);
  const WgPeerOp& p6 = set.peers[2];
  CHECK(p6.public_key == key(6));
  CHECK(p6.replace_allowed_ips);
  CHECK(p6.keepalive == std::optional<uint16_t>(0));
  const WgPeerOp& p5 = set.peers[3];
  CHECK(p5.public_key == key(5));
  CHECK(p5.remove);
}

TEST_CASE("reconcile: no private key on the device, duplicate peers", "[netlink][wireguard]") {
  WgDeviceConfig want;
  want.private_key = key(1);
  want.listen_port = 51820;
  want.peers.push_back({key(2), std::nullopt, {pfx("10.2.0.0/16")}, 0});
  want.peers.push_back({key(2), std::nullopt, {pfx("10.3.0.0/16")}, 0});  // same key: ignored
  WgDeviceStatus have;
  have.listen_port = 51820;
  WgSet set = reconcile(want, have);
  CHECK(set.private_key);
  CHECK_FALSE(set.listen_port);
  REQUIRE(set.peers.size() == 1);
  CHECK(set.peers[0].allowed_ips == std::vector<IpPrefix>{pfx("10.2.0.0/16")});
}

TEST_CASE("reconcile: private keys compare clamped", "[netlink][wireguard]") {
  WgDeviceConfig want;
  want.private_key = key(7);  // not clamped
  WgDeviceStatus have;
  have.private_key = key(7).clamped();  // as the device stores it
  CHECK(reconcile(want, have).empty());
  CHECK(key(7).clamped().public_key() == key(7).public_key());
}
