#include <catch2/catch.hpp>

#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include <cerrno>
#include <iostream>
#include <linux/wireguard.h>

#include "ferry/netlink/route.h"
#include "ferry/netlink/wg_kernel.h"

using namespace ferry::netlink;

namespace {
WgKey key(uint8_t fill) {
  WgKey k;
  k.bytes.fill(fill);
  return k;
}
IpPrefix pfx(const char* s) { return *IpPrefix::parse(s); }
}  // namespace

TEST_CASE("wg_build_set round trip", "[netlink][genl]") {
  WgSet set;
  set.private_key = key(7);
  set.listen_port = 51820;
  WgPeerOp add;
  add.public_key = key(1);
  add.endpoint = IpEndpoint::parse("198.51.100.7:51820");
  add.keepalive = 25;
  add.replace_allowed_ips = true;
  add.allowed_ips = {pfx("fdaa:0:2::/48"), pfx("10.2.0.0/16")};
  WgPeerOp move;
  move.public_key = key(3);
  move.endpoint = IpEndpoint::parse("[2001:db8::3]:4000");
  WgPeerOp rm;
  rm.public_key = key(2);
  rm.remove = true;
  set.peers = {add, move, rm};

  Status error;
  NlMsgPtr msg = wg_build_set(42, "ferry0", set, error);
  REQUIRE(msg);
  nlmsghdr* hdr = nlmsg_hdr(msg.get());
  CHECK(hdr->nlmsg_type == 42);
  CHECK((hdr->nlmsg_flags & NLM_F_ACK) != 0);
  auto* gh = static_cast<genlmsghdr*>(nlmsg_data(hdr));
  CHECK(gh->cmd == WG_CMD_SET_DEVICE);
  CHECK(gh->version == WG_GENL_VERSION);

  std::string ifname;
  WgSet back;
  REQUIRE(wg_parse_set(msg.get(), ifname, back).ok());
  CHECK(ifname == "ferry0");
  CHECK(back.private_key == set.private_key);
  CHECK(back.listen_port == set.listen_port);
  REQUIRE(back.peers.size() == 3);
  CHECK(back.peers[0].public_key == key(1));
  CHECK_FALSE(back.peers[0].remove);
  CHECK(back.peers[0].replace_allowed_ips);
  CHECK(back.peers[0].endpoint == add.endpoint);
  CHECK(back.peers[0].keepalive == std::optional<uint16_t>(25));
  CHECK(back.peers[0].allowed_ips == add.allowed_ips);
  CHECK(back.peers[1].endpoint == move.endpoint);
  CHECK_FALSE(back.peers[1].replace_allowed_ips);
  CHECK_FALSE(back.peers[1].keepalive);
  CHECK(back.peers[1].allowed_ips.empty());
  CHECK(back.peers[2].public_key == key(2));
  CHECK(back.peers[2].remove);

  // Peers are nested with NLA_F_NESTED, as the kernel's strict parser expects.
  nlattr* peers = nlmsg_find_attr(hdr, GENL_HDRLEN, WGDEVICE_A_PEERS);
  REQUIRE(peers);
  CHECK((peers->nla_type & NLA_F_NESTED) != 0);
}

TEST_CASE("wg_parse_device merges a peer continued in the next message", "[netlink][genl]") {
  // Build two "replies" with the set builder's layout (the device attributes are the same).
  WgSet first;
  first.private_key = key(7);
  first.listen_port = 1234;
  WgPeerOp a;
  a.public_key = key(1);
  a.allowed_ips = {pfx("10.1.0.0/16")};
  WgPeerOp b;
  b.public_key = key(2);
  b.allowed_ips = {pfx("10.2.0.0/16")};
  first.peers = {a, b};
  WgSet second;
  WgPeerOp b2;
  b2.public_key = key(2);
  b2.allowed_ips = {pfx("10.22.0.0/16")};
  second.peers = {b2};

  Status error;
  NlMsgPtr m1 = wg_build_set(42, "ferry0", first, error);
  NlMsgPtr m2 = wg_build_set(42, "ferry0", second, error);
  REQUIRE(m1);
  REQUIRE(m2);
  WgDeviceStatus st;
  REQUIRE(wg_parse_device(m1.get(), st).ok());
  REQUIRE(wg_parse_device(m2.get(), st).ok());
  CHECK(st.private_key == key(7));
  CHECK(st.public_key == key(7).public_key());
  CHECK(st.listen_port == 1234);
  REQUIRE(st.peers.size() == 2);
  CHECK(st.peers[1].public_key == key(2));
  CHECK(st.peers[1].allowed_ips == std::vector<IpPrefix>{pfx("10.2.0.0/16"), pfx("10.22.0.0/16")});
}

TEST_CASE("a change too large for one message is refused", "[netlink][genl]") {
  WgSet set;
  WgPeerOp p;
  p.public_key = key(1);
  p.replace_allowed_ips = true;
  for (int i = 0; i < 5000; ++i) p.allowed_ips.push_back(pfx("fdaa::/64"));
  set.peers = {p};
  Status error;
  CHECK_FALSE(wg_build_set(42, "ferry0", set, error));
  CHECK(error.code == EMSGSIZE);
}

TEST_CASE("kernel WireGuard, when the kernel has it", "[netlink][genl][kernel]") {
  KernelWg wg("ferrytest0");
  Status s = wg.open();
  if (!s) {
    std::cout << "SKIP kernel WireGuard: " << s.message << std::endl;
    return;
  }
  Rtnl rtnl;
  Status c = rtnl.create_link("ferrytest0", "wireguard");
  if (!c) {
    std::cout << "SKIP kernel WireGuard: " << c.message << std::endl;
    return;
  }
  WgSet set;
  set.private_key = key(7);
  set.listen_port = 0;
  WgPeerOp p;
  p.public_key = *key(9).public_key();
  p.replace_allowed_ips = true;
  p.allowed_ips = {pfx("fdaa:0:9::/48")};
  set.peers = {p};
  CHECK(wg.set(set).ok());
  WgDeviceStatus st;
  CHECK(wg.get(st).ok());
  CHECK(st.private_key == key(7).clamped());
  REQUIRE(st.peers.size() == 1);
  CHECK(st.peers[0].allowed_ips == p.allowed_ips);
  rtnl.delete_link("ferrytest0");
}

TEST_CASE("detect_wg_driver", "[netlink][genl][kernel]") {
  Rtnl rtnl;
  WgDriverChoice c = detect_wg_driver(rtnl, "ftauto0");
  if (c.kernel) {
    if (c.created) CHECK(rtnl.delete_link("ftauto0").changed);
    return;
  }
  // No kernel WireGuard (or no permission): userspace, with the reason.
  CHECK_FALSE(c.created);
  CHECK_FALSE(c.why.ok());
  CHECK_FALSE(c.why.message.empty());
  LinkInfo li;
  REQUIRE(rtnl.link("ftauto0", li).ok());
  CHECK_FALSE(li.exists);  // nothing left behind
}
