// WireGuard in the kernel: generic netlink family "wireguard" (linux/wireguard.h),
// WG_CMD_GET_DEVICE (a dump, coalesced here) and WG_CMD_SET_DEVICE, via libnl-genl. The
// message building and parsing are separate functions so they can be tested without the module.
//
// Ownership: a KernelWg owns one generic netlink socket. Thread: one control thread per
// instance; not thread-safe. Errors: Status with errno codes; ENOENT from open() when the
// kernel has no "wireguard" family (no module), ENODEV when the interface does not exist.
// A set larger than one message (thousands of allowed IPs) fails with EMSGSIZE rather than
// being split over several messages as wg(8) does.
#pragma once

#include <memory>
#include <string>

#include "ferry/netlink/route.h"
#include "ferry/netlink/wireguard.h"

struct nl_msg;
struct nl_sock;

namespace ferry::netlink {

struct NlMsgFree {
  void operator()(nl_msg* m) const;
};
using NlMsgPtr = std::unique_ptr<nl_msg, NlMsgFree>;

// WG_CMD_SET_DEVICE for `ifname` with `change`, for generic netlink family id `family`.
// Null with `error` set when the change does not fit in one message.
NlMsgPtr wg_build_set(int family, const std::string& ifname, const WgSet& change, Status& error);
// WG_CMD_GET_DEVICE dump request for `ifname`.
NlMsgPtr wg_build_get(int family, const std::string& ifname);
// Merges one WG_CMD_GET_DEVICE reply message into `out` (device attributes, peers; a peer
// continued from the previous message gets the rest of its allowed IPs). EPROTO if malformed.
Status wg_parse_device(nl_msg* msg, WgDeviceStatus& out);
// Decodes a set message built by wg_build_set (for tests and debugging).
Status wg_parse_set(nl_msg* msg, std::string& ifname, WgSet& out);

class KernelWg : public WgControl {
 public:
  explicit KernelWg(std::string interface);
  ~KernelWg() override;
  KernelWg(const KernelWg&) = delete;
  KernelWg& operator=(const KernelWg&) = delete;

  // Connects and resolves the family; get()/set() call it on demand.
  Status open();
  const std::string& interface() const override { return iface_; }
  const char* driver_name() const override { return "kernel"; }
  Status get(WgDeviceStatus& out) override;
  Status set(const WgSet& change) override;

 private:
  std::string iface_;
  nl_sock* sock_ = nullptr;
  int family_ = -1;
};

// Which driver to use for `interface` under `driver auto`: the kernel when the link exists and
// is of kind wireguard, or when creating one works (then `created` is true: the caller owns the
// link and deletes it at shutdown) and the genl family resolves; else userspace, with `why`
// saying what failed ("create link ferry0 type wireguard: Operation not supported").
struct WgDriverChoice {
  bool kernel = false;
  bool created = false;
  Status why;
};
WgDriverChoice detect_wg_driver(Rtnl& rtnl, const std::string& interface);

}  // namespace ferry::netlink
