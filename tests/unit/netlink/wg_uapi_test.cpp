#include <catch2/catch.hpp>

#include <cerrno>

#include "ferry/netlink/wg_uapi.h"

using namespace ferry::netlink;

namespace {
WgKey key(uint8_t fill) {
  WgKey k;
  k.bytes.fill(fill);
  return k;
}
}  // namespace

TEST_CASE("uapi_format_set", "[netlink][uapi]") {
  WgSet set;
  set.private_key = key(0xab);
  set.listen_port = 51820;
  WgPeerOp add;
  add.public_key = key(1);
  add.endpoint = IpEndpoint::parse("[fdaa::2]:51820");
  add.keepalive = 25;
  add.replace_allowed_ips = true;
  add.allowed_ips = {*IpPrefix::parse("fdaa:0:2::/48"), *IpPrefix::parse("10.2.0.0/16")};
  WgPeerOp rm;
  rm.public_key = key(2);
  rm.remove = true;
  rm.endpoint = IpEndpoint::parse("1.2.3.4:5");  // ignored for a removal
  set.peers = {add, rm};
  CHECK(uapi_format_set(set) ==
        "set=1\n"
        "private_key=" + key(0xab).to_hex() + "\n"
        "listen_port=51820\n"
        "public_key=" + key(1).to_hex() + "\n"
        "endpoint=[fdaa::2]:51820\n"
        "persistent_keepalive_interval=25\n"
        "replace_allowed_ips=true\n"
        "allowed_ip=fdaa:0:2::/48\n"
        "allowed_ip=10.2.0.0/16\n"
        "public_key=" + key(2).to_hex() + "\n"
        "remove=true\n"
        "\n");
  CHECK(uapi_format_set(WgSet{}) == "set=1\n\n");
}

TEST_CASE("uapi_parse_get", "[netlink][uapi]") {
  const std::string reply =
      "private_key=" + key(3).to_hex() + "\n"
      "listen_port=51820\n"
      "fwmark=0\n"
      "some_future_key=whatever\n"
      "public_key=" + key(1).to_hex() + "\n"
      "preshared_key=" + std::string(64, '0') + "\n"
      "protocol_version=1\n"
      "endpoint=10.200.0.2:51820\n"
      "last_handshake_time_sec=1700000000\n"
      "last_handshake_time_nsec=123\n"
      "tx_bytes=1000\n"
      "rx_bytes=2000\n"
      "persistent_keepalive_interval=25\n"
      "allowed_ip=fdaa:0:2::/48\n"
      "allowed_ip=10.2.0.0/16\n"
      "another_unknown=1\n"
      "public_key=" + key(2).to_hex() + "\n"
      "endpoint=(none)\n"
      "last_handshake_time_sec=0\n"
      "errno=0\n"
      "\n";
  WgDeviceStatus st;
  Status s = uapi_parse_get(reply, st);
  REQUIRE(s.ok());
  REQUIRE(st.private_key);
  CHECK(*st.private_key == key(3));
  CHECK(st.public_key == key(3).public_key());
  CHECK(st.listen_port == 51820);
  REQUIRE(st.peers.size() == 2);
  const WgPeerStatus& p = st.peers[0];
  CHECK(p.public_key == key(1));
  REQUIRE(p.endpoint);
  CHECK(p.endpoint->to_string() == "10.200.0.2:51820");
  CHECK(p.last_handshake_sec == 1700000000);
  CHECK(p.last_handshake_nsec == 123);
  CHECK(p.tx_bytes == 1000);
  CHECK(p.rx_bytes == 2000);
  CHECK(p.keepalive == 25);
  REQUIRE(p.allowed_ips.size() == 2);
  CHECK(p.allowed_ips[1].to_string() == "10.2.0.0/16");
  CHECK_FALSE(st.peers[1].endpoint);
  CHECK(st.find(key(2)) == &st.peers[1]);
  CHECK(st.find(key(9)) == nullptr);
}

TEST_CASE("uapi_parse_get: empty device, errors, malformed", "[netlink][uapi]") {
  WgDeviceStatus st;
  CHECK(uapi_parse_get("private_key=" + std::string(64, '0') + "\nlisten_port=0\nerrno=0\n\n", st).ok());
  CHECK_FALSE(st.private_key);
  CHECK(st.peers.empty());

  Status e = uapi_parse_get("errno=19\n\n", st);
  CHECK(e.code == 19);
  CHECK(uapi_parse_get("listen_port=1\n\n", st).code == EPROTO);            // no errno
  CHECK(uapi_parse_get("listen_port=x\nerrno=0\n\n", st).code == EPROTO);   // bad number
  CHECK(uapi_parse_get("garbage\nerrno=0\n\n", st).code == EPROTO);         // no '='
  CHECK(uapi_parse_get("public_key=zz\nerrno=0\n\n", st).code == EPROTO);   // bad key
}

TEST_CASE("uapi_parse_errno", "[netlink][uapi]") {
  CHECK(uapi_parse_errno("errno=0\n\n").ok());
  Status s = uapi_parse_errno("errno=22\n\n");
  CHECK(s.code == 22);
  CHECK(s.message.find("Invalid argument") != std::string::npos);
  CHECK(uapi_parse_errno("").code == EPROTO);
  CHECK(uapi_parse_errno("errno=\n\n").code == EPROTO);
}
