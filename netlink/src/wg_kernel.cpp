#include "ferry/netlink/wg_kernel.h"

#include <arpa/inet.h>
#include <linux/time_types.h>
#include <linux/wireguard.h>
#include <netinet/in.h>
#include <netlink/attr.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <cerrno>
#include <cstring>

namespace ferry::netlink {

namespace {

constexpr size_t kMsgSize = 64 * 1024;

bool put_endpoint(nl_msg* m, const IpEndpoint& ep) {
  if (ep.addr.family == AF_INET) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(ep.port);
    std::memcpy(&sa.sin_addr, ep.addr.bytes.data(), 4);
    return nla_put(m, WGPEER_A_ENDPOINT, sizeof sa, &sa) == 0;
  }
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_port = htons(ep.port);
  std::memcpy(&sa.sin6_addr, ep.addr.bytes.data(), 16);
  return nla_put(m, WGPEER_A_ENDPOINT, sizeof sa, &sa) == 0;
}

std::optional<IpEndpoint> get_endpoint(nlattr* a) {
  int len = nla_len(a);
  const auto* sa = static_cast<const sockaddr*>(nla_data(a));
  IpEndpoint ep;
  if (len >= static_cast<int>(sizeof(sockaddr_in)) && sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    ep.addr.family = AF_INET;
    std::memcpy(ep.addr.bytes.data(), &in->sin_addr, 4);
    ep.port = ntohs(in->sin_port);
    return ep;
  }
  if (len >= static_cast<int>(sizeof(sockaddr_in6)) && sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    ep.addr.family = AF_INET6;
    std::memcpy(ep.addr.bytes.data(), &in6->sin6_addr, 16);
    ep.port = ntohs(in6->sin6_port);
    return ep;
  }
  return std::nullopt;
}

bool get_key(nlattr* a, WgKey& k) {
  if (!a || nla_len(a) != 32) return false;
  std::memcpy(k.bytes.data(), nla_data(a), 32);
  return true;
}

bool put_allowed_ips(nl_msg* m, const std::vector<IpPrefix>& ips) {
  nlattr* list = nla_nest_start(m, WGPEER_A_ALLOWEDIPS | NLA_F_NESTED);
  if (!list) return false;
  int i = 0;
  for (const IpPrefix& p : ips) {
    nlattr* one = nla_nest_start(m, i++ | NLA_F_NESTED);
    if (!one || nla_put_u16(m, WGALLOWEDIP_A_FAMILY, static_cast<uint16_t>(p.addr.family)) < 0 ||
        nla_put(m, WGALLOWEDIP_A_IPADDR, static_cast<int>(p.addr.size()), p.addr.bytes.data()) < 0 ||
        nla_put_u8(m, WGALLOWEDIP_A_CIDR_MASK, p.prefix) < 0)
      return false;
    nla_nest_end(m, one);
  }
  nla_nest_end(m, list);
  return true;
}

Status get_allowed_ips(nlattr* list, std::vector<IpPrefix>& out) {
  nlattr* one;
  int rem;
  nla_for_each_nested(one, list, rem) {
    nlattr* tb[WGALLOWEDIP_A_MAX + 1] = {};
    if (nla_parse_nested(tb, WGALLOWEDIP_A_MAX, one, nullptr) < 0 || !tb[WGALLOWEDIP_A_FAMILY] ||
        !tb[WGALLOWEDIP_A_IPADDR] || !tb[WGALLOWEDIP_A_CIDR_MASK])
      return Status::error(EPROTO, "malformed allowed IP attribute");
    IpPrefix p;
    p.addr.family = nla_get_u16(tb[WGALLOWEDIP_A_FAMILY]);
    if (p.addr.size() == 0 || nla_len(tb[WGALLOWEDIP_A_IPADDR]) != static_cast<int>(p.addr.size()))
      return Status::error(EPROTO, "malformed allowed IP address");
    std::memcpy(p.addr.bytes.data(), nla_data(tb[WGALLOWEDIP_A_IPADDR]), p.addr.size());
    p.prefix = nla_get_u8(tb[WGALLOWEDIP_A_CIDR_MASK]);
    out.push_back(p);
  }
  return Status::success();
}

}  // namespace

void NlMsgFree::operator()(nl_msg* m) const { nlmsg_free(m); }

NlMsgPtr wg_build_set(int family, const std::string& ifname, const WgSet& c, Status& error) {
  NlMsgPtr msg(nlmsg_alloc_size(kMsgSize));
  auto too_big = [&]() {
    error = Status::error(EMSGSIZE, "wireguard " + ifname + ": change too large for one message");
    return nullptr;
  };
  if (!msg) return too_big();
  nl_msg* m = msg.get();
  if (!genlmsg_put(m, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, NLM_F_REQUEST | NLM_F_ACK,
                   WG_CMD_SET_DEVICE, WG_GENL_VERSION) ||
      nla_put_string(m, WGDEVICE_A_IFNAME, ifname.c_str()) < 0)
    return too_big();
  if (c.private_key && nla_put(m, WGDEVICE_A_PRIVATE_KEY, 32, c.private_key->bytes.data()) < 0) return too_big();
  if (c.listen_port && nla_put_u16(m, WGDEVICE_A_LISTEN_PORT, *c.listen_port) < 0) return too_big();
  if (!c.peers.empty()) {
    nlattr* peers = nla_nest_start(m, WGDEVICE_A_PEERS | NLA_F_NESTED);
    if (!peers) return too_big();
    int i = 0;
    for (const WgPeerOp& p : c.peers) {
      nlattr* one = nla_nest_start(m, i++ | NLA_F_NESTED);
      if (!one || nla_put(m, WGPEER_A_PUBLIC_KEY, 32, p.public_key.bytes.data()) < 0) return too_big();
      uint32_t flags = p.remove ? WGPEER_F_REMOVE_ME : (p.replace_allowed_ips ? WGPEER_F_REPLACE_ALLOWEDIPS : 0);
      if (nla_put_u32(m, WGPEER_A_FLAGS, flags) < 0) return too_big();
      if (!p.remove) {
        if (p.endpoint && !put_endpoint(m, *p.endpoint)) return too_big();
        if (p.keepalive && nla_put_u16(m, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, *p.keepalive) < 0)
          return too_big();
        if ((p.replace_allowed_ips || !p.allowed_ips.empty()) && !put_allowed_ips(m, p.allowed_ips))
          return too_big();
      }
      nla_nest_end(m, one);
    }
    nla_nest_end(m, peers);
  }
  return msg;
}

NlMsgPtr wg_build_get(int family, const std::string& ifname) {
  NlMsgPtr msg(nlmsg_alloc());
  if (!msg) return nullptr;
  if (!genlmsg_put(msg.get(), NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, NLM_F_REQUEST | NLM_F_DUMP,
                   WG_CMD_GET_DEVICE, WG_GENL_VERSION) ||
      nla_put_string(msg.get(), WGDEVICE_A_IFNAME, ifname.c_str()) < 0)
    return nullptr;
  return msg;
}

Status wg_parse_device(nl_msg* msg, WgDeviceStatus& out) {
  nlattr* tb[WGDEVICE_A_MAX + 1] = {};
  if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, WGDEVICE_A_MAX, nullptr) < 0)
    return Status::error(EPROTO, "malformed WG_CMD_GET_DEVICE reply");
  WgKey k;
  if (get_key(tb[WGDEVICE_A_PRIVATE_KEY], k) && !k.is_zero()) out.private_key = k;
  if (get_key(tb[WGDEVICE_A_PUBLIC_KEY], k) && !k.is_zero()) out.public_key = k;
  if (out.private_key && !out.public_key) out.public_key = out.private_key->public_key();
  if (tb[WGDEVICE_A_LISTEN_PORT]) out.listen_port = nla_get_u16(tb[WGDEVICE_A_LISTEN_PORT]);
  if (tb[WGDEVICE_A_FWMARK]) out.fwmark = nla_get_u32(tb[WGDEVICE_A_FWMARK]);
  if (!tb[WGDEVICE_A_PEERS]) return Status::success();
  nlattr* one;
  int rem;
  bool first = true;
  nla_for_each_nested(one, tb[WGDEVICE_A_PEERS], rem) {
    nlattr* pb[WGPEER_A_MAX + 1] = {};
    WgKey key;
    if (nla_parse_nested(pb, WGPEER_A_MAX, one, nullptr) < 0 || !get_key(pb[WGPEER_A_PUBLIC_KEY], key))
      return Status::error(EPROTO, "malformed peer attribute");
    // The kernel splits a large peer over messages, repeating its key in the next one.
    bool continued = first && !out.peers.empty() && out.peers.back().public_key == key;
    first = false;
    if (!continued) {
      out.peers.push_back(WgPeerStatus{});
      out.peers.back().public_key = key;
    }
    WgPeerStatus& p = out.peers.back();
    if (pb[WGPEER_A_ENDPOINT]) p.endpoint = get_endpoint(pb[WGPEER_A_ENDPOINT]);
    if (pb[WGPEER_A_LAST_HANDSHAKE_TIME] &&
        nla_len(pb[WGPEER_A_LAST_HANDSHAKE_TIME]) == static_cast<int>(sizeof(__kernel_timespec))) {
      __kernel_timespec ts;
      std::memcpy(&ts, nla_data(pb[WGPEER_A_LAST_HANDSHAKE_TIME]), sizeof ts);
      p.last_handshake_sec = ts.tv_sec;
      p.last_handshake_nsec = ts.tv_nsec;
    }
    if (pb[WGPEER_A_RX_BYTES]) p.rx_bytes = nla_get_u64(pb[WGPEER_A_RX_BYTES]);
    if (pb[WGPEER_A_TX_BYTES]) p.tx_bytes = nla_get_u64(pb[WGPEER_A_TX_BYTES]);
    if (pb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL])
      p.keepalive = nla_get_u16(pb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]);
    if (pb[WGPEER_A_ALLOWEDIPS])
      if (Status s = get_allowed_ips(pb[WGPEER_A_ALLOWEDIPS], p.allowed_ips); !s) return s;
  }
  return Status::success();
}

Status wg_parse_set(nl_msg* msg, std::string& ifname, WgSet& out) {
  out = WgSet{};
  nlattr* tb[WGDEVICE_A_MAX + 1] = {};
  if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, WGDEVICE_A_MAX, nullptr) < 0)
    return Status::error(EPROTO, "malformed WG_CMD_SET_DEVICE message");
  ifname = tb[WGDEVICE_A_IFNAME] ? nla_get_string(tb[WGDEVICE_A_IFNAME]) : "";
  WgKey k;
  if (get_key(tb[WGDEVICE_A_PRIVATE_KEY], k)) out.private_key = k;
  if (tb[WGDEVICE_A_LISTEN_PORT]) out.listen_port = nla_get_u16(tb[WGDEVICE_A_LISTEN_PORT]);
  if (!tb[WGDEVICE_A_PEERS]) return Status::success();
  nlattr* one;
  int rem;
  nla_for_each_nested(one, tb[WGDEVICE_A_PEERS], rem) {
    nlattr* pb[WGPEER_A_MAX + 1] = {};
    WgPeerOp op;
    if (nla_parse_nested(pb, WGPEER_A_MAX, one, nullptr) < 0 || !get_key(pb[WGPEER_A_PUBLIC_KEY], op.public_key))
      return Status::error(EPROTO, "malformed peer attribute");
    uint32_t flags = pb[WGPEER_A_FLAGS] ? nla_get_u32(pb[WGPEER_A_FLAGS]) : 0;
    op.remove = flags & WGPEER_F_REMOVE_ME;
    op.replace_allowed_ips = flags & WGPEER_F_REPLACE_ALLOWEDIPS;
    if (pb[WGPEER_A_ENDPOINT]) op.endpoint = get_endpoint(pb[WGPEER_A_ENDPOINT]);
    if (pb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL])
      op.keepalive = nla_get_u16(pb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]);
    if (pb[WGPEER_A_ALLOWEDIPS])
      if (Status s = get_allowed_ips(pb[WGPEER_A_ALLOWEDIPS], op.allowed_ips); !s) return s;
    out.peers.push_back(std::move(op));
  }
  return Status::success();
}

KernelWg::KernelWg(std::string interface) : iface_(std::move(interface)) {}

KernelWg::~KernelWg() {
  if (sock_) nl_socket_free(sock_);
}

Status KernelWg::open() {
  if (sock_ && family_ >= 0) return Status::success();
  const std::string what = "wireguard " + iface_ + ": generic netlink";
  if (!sock_) {
    sock_ = nl_socket_alloc();
    if (!sock_) return Status::error(ENOMEM, what + ": out of memory");
    if (int rc = genl_connect(sock_); rc < 0) {
      nl_socket_free(sock_);
      sock_ = nullptr;
      return nl_failure(rc, what);
    }
  }
  family_ = genl_ctrl_resolve(sock_, WG_GENL_NAME);
  if (family_ < 0) {
    int rc = family_;
    family_ = -1;
    Status s = nl_failure(rc, what + " family " WG_GENL_NAME);
    if (s.code == ENOENT) s.message = what + ": the kernel has no wireguard family (module not loaded)";
    return s;
  }
  return Status::success();
}

namespace {
struct DumpCtx {
  WgDeviceStatus* out;
  Status status;
};
int on_device(nl_msg* msg, void* arg) {
  auto* ctx = static_cast<DumpCtx*>(arg);
  if (ctx->status.ok()) ctx->status = wg_parse_device(msg, *ctx->out);
  return NL_OK;
}
}  // namespace

Status KernelWg::get(WgDeviceStatus& out) {
  out = WgDeviceStatus{};
  if (Status s = open(); !s) return s;
  const std::string what = "wireguard " + iface_ + ": get device";
  NlMsgPtr msg = wg_build_get(family_, iface_);
  if (!msg) return Status::error(ENOMEM, what + ": out of memory");
  if (int rc = nl_send_auto(sock_, msg.get()); rc < 0) return nl_failure(rc, what);
  DumpCtx ctx{&out, Status::success()};
  nl_socket_modify_cb(sock_, NL_CB_VALID, NL_CB_CUSTOM, on_device, &ctx);
  int rc = nl_recvmsgs_default(sock_);
  nl_socket_modify_cb(sock_, NL_CB_VALID, NL_CB_CUSTOM, nullptr, nullptr);
  if (rc < 0) return nl_failure(rc, what);
  if (!ctx.status) return Status::error(ctx.status.code, what + ": " + ctx.status.message);
  return Status::success();
}

Status KernelWg::set(const WgSet& change) {
  if (change.empty()) return Status::success(false);
  if (Status s = open(); !s) return s;
  Status error;
  NlMsgPtr msg = wg_build_set(family_, iface_, change, error);
  if (!msg) return error;
  int rc = nl_send_sync(sock_, msg.release());  // frees the message
  if (rc < 0) return nl_failure(rc, "wireguard " + iface_ + ": set device");
  return Status::success(true);
}

WgDriverChoice detect_wg_driver(Rtnl& rtnl, const std::string& interface) {
  WgDriverChoice c;
  LinkInfo info;
  if (Status s = rtnl.link(interface, info); !s) {
    c.why = s;
    return c;
  }
  if (info.exists && info.kind != "wireguard") {
    c.why = Status::error(EEXIST, "link " + interface + " exists and is not of kind wireguard (" +
                                      (info.kind.empty() ? std::string("no kind") : info.kind) + ")");
    return c;
  }
  if (!info.exists) {
    Status s = rtnl.create_link(interface, "wireguard");
    if (!s) {
      c.why = s;
      return c;
    }
    c.created = s.changed;
  }
  KernelWg probe(interface);
  if (Status s = probe.open(); !s) {
    if (c.created) rtnl.delete_link(interface);
    c.created = false;
    c.why = s;
    return c;
  }
  c.kernel = true;
  return c;
}

}  // namespace ferry::netlink
