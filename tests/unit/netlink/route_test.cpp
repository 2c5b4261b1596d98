// rtnetlink against the real kernel, inside a private network namespace of this test process
// (unshare(CLONE_NEWNET)), so nothing of the host is touched. Needs root (CAP_NET_ADMIN):
// prints SKIP otherwise.
#include <catch2/catch.hpp>

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>

#include "ferry/netlink/route.h"
#include "netns.h"

using namespace ferry::netlink;
using ferry::netlink::test::private_netns;

namespace {

IpPrefix pfx(const char* s) { return *IpPrefix::parse(s); }

bool has(const std::vector<IpPrefix>& v, const char* p) {
  return std::find(v.begin(), v.end(), pfx(p)) != v.end();
}

}  // namespace

TEST_CASE("rtnetlink: links, addresses, routes", "[netlink][route][kernel]") {
  if (!private_netns()) return;
  Rtnl rt;
  REQUIRE(rt.open().ok());

  LinkInfo lo;
  REQUIRE(rt.link("lo", lo).ok());
  CHECK(lo.exists);
  CHECK_FALSE(lo.up);  // a new namespace's lo is down
  Status up = rt.set_up("lo", true);
  CHECK(up.ok());
  CHECK(up.changed);
  CHECK_FALSE(rt.set_up("lo", true).changed);
  REQUIRE(rt.link("lo", lo).ok());
  CHECK(lo.up);

  // Idempotent addresses.
  Status a1 = rt.add_address("lo", pfx("10.9.9.9/32"));
  CHECK(a1.ok());
  CHECK(a1.changed);
  Status a2 = rt.add_address("lo", pfx("10.9.9.9/32"));
  CHECK(a2.ok());
  CHECK_FALSE(a2.changed);
  CHECK(rt.add_address("lo", pfx("fdaa:0:1::1/48")).changed);
  std::vector<IpPrefix> addrs;
  REQUIRE(rt.list_addresses("lo", addrs).ok());
  CHECK(has(addrs, "10.9.9.9/32"));
  CHECK(has(addrs, "fdaa:0:1::1/48"));
  CHECK(rt.delete_address("lo", pfx("10.9.9.9/32")).changed);
  Status d2 = rt.delete_address("lo", pfx("10.9.9.9/32"));
  CHECK(d2.ok());
  CHECK_FALSE(d2.changed);
  REQUIRE(rt.list_addresses("lo", addrs).ok());
  CHECK_FALSE(has(addrs, "10.9.9.9/32"));

  // A missing interface is named in the error.
  Status missing = rt.add_address("nosuch0", pfx("10.9.9.9/32"));
  CHECK(missing.code == ENODEV);
  CHECK(missing.message == "add address 10.9.9.9/32 to nosuch0: no such interface");
  LinkInfo none;
  REQUIRE(rt.link("nosuch0", none).ok());
  CHECK_FALSE(none.exists);

  // Create / delete a link of a kind; routes through it.
  Status c = rt.create_link("ft0", "bridge");
  if (c.code == EOPNOTSUPP) {
    std::cout << "SKIP bridge links: " << c.message << std::endl;
    return;
  }
  REQUIRE(c.ok());
  CHECK(c.changed);
  CHECK_FALSE(rt.create_link("ft0", "bridge").changed);
  LinkInfo ft;
  REQUIRE(rt.link("ft0", ft).ok());
  CHECK(ft.exists);
  CHECK(ft.kind == "bridge");
  REQUIRE(rt.set_up("ft0", true).ok());
  Status r1 = rt.add_route(pfx("fdaa:0:2::1/48"), "ft0");
  CHECK(r1.ok());
  CHECK(r1.changed);
  CHECK_FALSE(rt.add_route(pfx("fdaa:0:2::/48"), "ft0").changed);
  CHECK(rt.add_route(pfx("10.77.0.0/16"), "ft0").changed);
  CHECK(rt.delete_route(pfx("10.77.0.0/16"), "ft0").changed);
  CHECK_FALSE(rt.delete_route(pfx("10.77.0.0/16"), "ft0").changed);
  CHECK(rt.delete_route(pfx("fdaa:0:2::/48"), "ft0").ok());
  CHECK(rt.delete_link("ft0").changed);
  CHECK_FALSE(rt.delete_link("ft0").changed);

  Status wg = rt.create_link("ftwg0", "wireguard");
  if (wg.ok()) {
    rt.delete_link("ftwg0");
  } else {
    CHECK(wg.code == EOPNOTSUPP);
    CHECK(wg.message == "create link ftwg0 type wireguard: Operation not supported");
  }
}
