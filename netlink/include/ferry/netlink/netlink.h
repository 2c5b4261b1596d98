// rtnetlink and WireGuard control (libnl 3). Placeholder until the mesh issue: it only
// reports whether a netlink route socket can be opened, which the daemon logs at start.
// Thread: control plane only.
#pragma once

#include <string>

namespace ferry::netlink {

// True when a NETLINK_ROUTE socket connects; otherwise false with `error` set.
bool probe_route_socket(std::string& error);

}  // namespace ferry::netlink
