// WireGuard's cross-platform userspace API (wireguard-go, boringtun): a unix stream socket
// DIR/IFACE.sock (DIR = /var/run/wireguard) speaking a line protocol: "get=1\n\n" answers
// key=value lines ending with "errno=N\n\n"; "set=1\n" + key=value lines + "\n" answers
// "errno=N\n\n". Keys are hex, endpoints "ip:port" / "[ip6]:port".
//
// Thread: a UapiWg is used by one control thread; each call opens its own connection (the
// daemon does not keep one open). Calls block, bounded by a 5 s socket timeout.
// Errors: ENOENT / ECONNREFUSED when nothing serves the socket, ETIMEDOUT, EPROTO for a reply
// that is not the protocol, or the errno the daemon answered; messages name the interface.
#pragma once

#include <string>
#include <string_view>

#include "ferry/netlink/wireguard.h"

namespace ferry::netlink {

inline constexpr const char* kUapiDefaultDir = "/var/run/wireguard";

// The request body of a set (starts with "set=1\n", ends with the empty line).
std::string uapi_format_set(const WgSet& change);
// Parses a get reply (up to and including "errno=N"). Unknown keys are ignored. Returns the
// daemon's errno as an error, or EPROTO naming the bad line.
Status uapi_parse_get(std::string_view reply, WgDeviceStatus& out);
// The errno=N of a set reply: success when 0, else an error with that code.
Status uapi_parse_errno(std::string_view reply);

class UapiWg : public WgControl {
 public:
  explicit UapiWg(std::string interface, std::string dir = kUapiDefaultDir);
  const std::string& interface() const override { return iface_; }
  const char* driver_name() const override { return "userspace"; }
  Status get(WgDeviceStatus& out) override;
  Status set(const WgSet& change) override;
  std::string socket_path() const { return dir_ + "/" + iface_ + ".sock"; }

 private:
  // Sends `request`, reads until the reply's terminating empty line.
  Status exchange(const std::string& what, const std::string& request, std::string& reply);
  std::string iface_;
  std::string dir_;
};

}  // namespace ferry::netlink
