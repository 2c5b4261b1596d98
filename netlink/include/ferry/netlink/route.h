// rtnetlink (libnl-route): links, addresses and routes of the network namespace ferryd runs in.
//
// Ownership: an Rtnl owns one NETLINK_ROUTE nl_sock (opened by open(), freed by the destructor).
// Thread: control plane only; one Rtnl is not thread-safe (use one per thread). Calls block on
// the kernel's answer, which is immediate. Nothing throws: every call returns a Status whose
// message names the operation, the interface and the address ("add address 10.9.9.9/32 to lo:
// Operation not permitted") and whose code is an errno value (EPERM, ENODEV, EOPNOTSUPP, ...).
// The add/delete calls are idempotent: adding what exists and deleting what is absent succeed
// with `changed == false`.
#pragma once

#include <string>
#include <vector>

#include "ferry/netlink/ip.h"
#include "ferry/netlink/status.h"

struct nl_sock;

namespace ferry::netlink {

struct LinkInfo {
  bool exists = false;
  int ifindex = 0;
  bool up = false;   // IFF_UP (administratively up)
  std::string kind;  // IFLA_INFO_KIND ("wireguard", "veth", ...); empty for lo and plain devices
};

class Rtnl {
 public:
  Rtnl() = default;
  ~Rtnl();
  Rtnl(const Rtnl&) = delete;
  Rtnl& operator=(const Rtnl&) = delete;

  // Connects the socket. Every other call opens it on demand, so open() only reports early.
  Status open();

  // Looks the link up by name; a missing link is success with `out.exists == false`.
  Status link(const std::string& name, LinkInfo& out);
  // Creates a link of `kind` ("wireguard"). An existing link of that name is success,
  // changed == false (its kind is not checked: call link() for that). A kind the kernel does
  // not know fails with EOPNOTSUPP.
  Status create_link(const std::string& name, const std::string& kind);
  // Deletes the link; a missing one is success, changed == false.
  Status delete_link(const std::string& name);
  // Sets IFF_UP (or clears it); changed when the flag was different.
  Status set_up(const std::string& name, bool up);

  // Adds `addr` (address and prefix length, e.g. fdaa:0:1::1/48) to the link. IPv6 addresses
  // are added without duplicate address detection.
  Status add_address(const std::string& name, const IpPrefix& addr);
  Status delete_address(const std::string& name, const IpPrefix& addr);
  // Every address of the link (IFA_LOCAL, else IFA_ADDRESS, with its prefix length).
  Status list_addresses(const std::string& name, std::vector<IpPrefix>& out);

  // A route to `dst` (host bits ignored) out of the link, main table, scope link, proto static.
  Status add_route(const IpPrefix& dst, const std::string& name);
  Status delete_route(const IpPrefix& dst, const std::string& name);

 private:
  Status ensure_open(const std::string& what);
  Status ifindex(const std::string& name, const std::string& what, int& out);
  nl_sock* sock_ = nullptr;
};

// Turns a libnl error (negative NLE_* code) into an errno value. Used by all libnl callers.
int errno_from_nl(int nl_error);
// "WHAT: strerror" built from a libnl error code.
Status nl_failure(int nl_error, const std::string& what);

}  // namespace ferry::netlink
