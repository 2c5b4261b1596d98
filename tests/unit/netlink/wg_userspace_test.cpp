// The UAPI back end and the Supervisor against the real wireguard-go, in a private network
// namespace of this test process. Prints SKIP without root or without /usr/bin/wireguard-go.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <iostream>

#include "ferry/netlink/route.h"
#include "ferry/netlink/supervisor.h"
#include "ferry/netlink/wg_uapi.h"
#include "netns.h"

using namespace ferry::netlink;

namespace {
WgKey key(uint8_t fill) {
  WgKey k;
  k.bytes.fill(fill);
  return k;
}
IpPrefix pfx(const char* s) { return *IpPrefix::parse(s); }
}  // namespace

TEST_CASE("wireguard-go: supervisor, UAPI get/set, reconcile", "[netlink][uapi][kernel]") {
  const char* prog = "/usr/bin/wireguard-go";
  if (::access(prog, X_OK) != 0) {
    std::cout << "SKIP wireguard-go tests: " << prog << " not installed" << std::endl;
    return;
  }
  if (!test::private_netns()) return;
  // /var/run/wireguard is shared by every namespace: a name of our own.
  const std::string iface = "ftwg" + std::to_string(::getpid() % 100000);
  Supervisor::Options opt;
  opt.command = {prog};
  opt.interface = iface;
  Supervisor sup(opt);
  Status s = sup.start();
  REQUIRE(s.ok());
  CHECK(sup.running());

  UapiWg wg(iface);
  WgDeviceStatus st;
  REQUIRE(wg.get(st).ok());
  CHECK_FALSE(st.private_key);
  CHECK(st.peers.empty());

  WgDeviceConfig want;
  want.private_key = key(7);
  want.listen_port = 0;
  WgPeerConfig a{*key(1).public_key(), IpEndpoint::parse("192.0.2.1:51820"), {pfx("fdaa:0:2::/48")}, 25};
  WgPeerConfig b{*key(2).public_key(), std::nullopt, {pfx("fdaa:0:3::/48"), pfx("10.3.0.0/16")}, 0};
  want.peers = {a, b};
  WgSet set = reconcile(want, st);
  Status applied = wg.set(set);
  REQUIRE(applied.ok());
  CHECK(applied.changed);

  REQUIRE(wg.get(st).ok());
  CHECK(st.private_key == key(7).clamped());
  CHECK(st.public_key == key(7).public_key());
  REQUIRE(st.peers.size() == 2);
  const WgPeerStatus* pa = st.find(a.public_key);
  REQUIRE(pa);
  CHECK(pa->endpoint == a.endpoint);
  CHECK(pa->keepalive == 25);
  CHECK(pa->allowed_ips == a.allowed_ips);
  CHECK(reconcile(want, st).empty());  // converged

  // Drop b, change a's allowed IPs: one removal and one replace.
  want.peers = {a};
  want.peers[0].allowed_ips = {pfx("fdaa:0:2::/48"), pfx("10.2.0.0/16")};
  set = reconcile(want, st);
  REQUIRE(set.peers.size() == 2);
  REQUIRE(wg.set(set).ok());
  REQUIRE(wg.get(st).ok());
  REQUIRE(st.peers.size() == 1);
  CHECK(st.peers[0].allowed_ips.size() == 2);
  CHECK(reconcile(want, st).empty());

  // The link exists while wireguard-go runs; it goes away with it.
  Rtnl rt;
  LinkInfo li;
  REQUIRE(rt.link(iface, li).ok());
  CHECK(li.exists);

  // A crash is noticed and the program restarted (after the 1 s back-off).
  ::kill(sup.pid(), SIGKILL);
  Status gone;
  for (int i = 0; i < 50 && gone.ok(); ++i) {
    gone = sup.poll();
    if (gone.ok()) usleep(20000);
  }
  CHECK(gone.code == ECHILD);
  CHECK(gone.message.find("killed by signal") != std::string::npos);
  Status back;
  for (int i = 0; i < 100 && !back.changed; ++i) {
    back = sup.poll();
    if (!back.changed) usleep(50000);
  }
  CHECK(back.ok());
  CHECK(back.changed);
  REQUIRE(wg.get(st).ok());
  CHECK(st.peers.empty());  // a new process: the caller must re-apply

  sup.stop();
  CHECK_FALSE(sup.running());
  for (int i = 0; i < 50; ++i) {
    REQUIRE(rt.link(iface, li).ok());
    if (!li.exists) break;
    usleep(20000);
  }
  CHECK_FALSE(li.exists);
  CHECK_FALSE(wg.get(st).ok());
}
