#include "ferry/netlink/route.h"

#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netlink/addr.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace ferry::netlink {

namespace {

struct LinkDel {
  void operator()(rtnl_link* l) const { rtnl_link_put(l); }
};
struct AddrDel {
  void operator()(rtnl_addr* a) const { rtnl_addr_put(a); }
};
struct RouteDel {
  void operator()(rtnl_route* r) const { rtnl_route_put(r); }
};
struct NlAddrDel {
  void operator()(nl_addr* a) const { nl_addr_put(a); }
};
struct CacheDel {
  void operator()(nl_cache* c) const { nl_cache_free(c); }
};
using LinkPtr = std::unique_ptr<rtnl_link, LinkDel>;
using AddrPtr = std::unique_ptr<rtnl_addr, AddrDel>;
using RoutePtr = std::unique_ptr<rtnl_route, RouteDel>;
using NlAddrPtr = std::unique_ptr<nl_addr, NlAddrDel>;
using CachePtr = std::unique_ptr<nl_cache, CacheDel>;

NlAddrPtr to_nl(const IpAddr& a, uint8_t prefix) {
  NlAddrPtr p(nl_addr_build(a.family, a.bytes.data(), a.size()));
  if (p) nl_addr_set_prefixlen(p.get(), prefix);
  return p;
}

IpPrefix from_nl(nl_addr* a) {
  IpPrefix p;
  p.addr.family = nl_addr_get_family(a);
  size_t n = std::min<size_t>(nl_addr_get_len(a), p.addr.bytes.size());
  std::memcpy(p.addr.bytes.data(), nl_addr_get_binary_addr(a), n);
  p.prefix = static_cast<uint8_t>(nl_addr_get_prefixlen(a));
  return p;
}

}  // namespace

int errno_from_nl(int e) {
  switch (e < 0 ? -e : e) {
    case 0: return 0;
    case NLE_INTR: return EINTR;
    case NLE_BAD_SOCK: return EBADF;
    case NLE_AGAIN: return EAGAIN;
    case NLE_NOMEM: return ENOMEM;
    case NLE_EXIST: return EEXIST;
    case NLE_INVAL: return EINVAL;
    case NLE_RANGE: return ERANGE;
    case NLE_MSGSIZE: return EMSGSIZE;
    case NLE_OPNOTSUPP: return EOPNOTSUPP;
    case NLE_AF_NOSUPPORT: return EAFNOSUPPORT;
    case NLE_OBJ_NOTFOUND: return ENOENT;
    case NLE_NOATTR: return ENOENT;
    case NLE_AF_MISMATCH: return EAFNOSUPPORT;
    case NLE_SEQ_MISMATCH: return EPROTO;
    case NLE_MSG_OVERFLOW: return EMSGSIZE;
    case NLE_MSG_TRUNC: return EMSGSIZE;
    case NLE_NOADDR: return EADDRNOTAVAIL;
    case NLE_SRCRT_NOSUPPORT: return EOPNOTSUPP;
    case NLE_MSG_TOOSHORT: return EPROTO;
    case NLE_MSGTYPE_NOSUPPORT: return EOPNOTSUPP;
    case NLE_OBJ_MISMATCH: return EINVAL;
    case NLE_NOCACHE: return ENOENT;
    case NLE_BUSY: return EBUSY;
    case NLE_PROTO_MISMATCH: return EPROTONOSUPPORT;
    case NLE_NOACCESS: return EACCES;
    case NLE_PERM: return EPERM;
    case NLE_PKTLOC_FILE: return ENOENT;
    case NLE_PARSE_ERR: return EINVAL;
    case NLE_NODEV: return ENODEV;
    case NLE_IMMUTABLE: return EPERM;
    case NLE_DUMP_INTR: return EINTR;
    case NLE_ATTRSIZE: return ERANGE;
    default: return EIO;
  }
}

Status nl_failure(int nl_error, const std::string& what) {
  int code = errno_from_nl(nl_error);
  std::string reason = code == EIO ? nl_geterror(nl_error) : std::strerror(code);
  return Status::error(code, what + ": " + reason);
}

Rtnl::~Rtnl() {
  if (sock_) nl_socket_free(sock_);
}

Status Rtnl::open() { return ensure_open("open rtnetlink socket"); }

Status Rtnl::ensure_open(const std::string& what) {
  if (sock_) return Status::success();
  nl_sock* s = nl_socket_alloc();
  if (!s) return Status::error(ENOMEM, what + ": cannot allocate a netlink socket");
  int rc = nl_connect(s, NETLINK_ROUTE);
  if (rc < 0) {
    nl_socket_free(s);
    return nl_failure(rc, what);
  }
  sock_ = s;
  return Status::success();
}

Status Rtnl::link(const std::string& name, LinkInfo& out) {
  out = LinkInfo{};
  const std::string what = "look up link " + name;
  if (Status s = ensure_open(what); !s) return s;
  rtnl_link* raw = nullptr;
  int rc = rtnl_link_get_kernel(sock_, 0, name.c_str(), &raw);
  LinkPtr l(raw);
  if (rc < 0) {
    int code = errno_from_nl(rc);
    if (code == ENODEV || code == ENOENT) return Status::success();
    return nl_failure(rc, what);
  }
  out.exists = true;
  out.ifindex = rtnl_link_get_ifindex(l.get());
  out.up = (rtnl_link_get_flags(l.get()) & IFF_UP) != 0;
  if (const char* kind = rtnl_link_get_type(l.get())) out.kind = kind;
  return Status::success();
}

Status Rtnl::ifindex(const std::string& name, const std::string& what, int& out) {
  LinkInfo info;
  if (Status s = link(name, info); !s) return Status::error(s.code, what + ": " + s.message);
  if (!info.exists) return Status::error(ENODEV, what + ": no such interface");
  out = info.ifindex;
  return Status::success();
}

Status Rtnl::create_link(const std::string& name, const std::string& kind) {
  const std::string what = "create link " + name + " type " + kind;
  if (Status s = ensure_open(what); !s) return s;
  LinkPtr l(rtnl_link_alloc());
  if (!l) return Status::error(ENOMEM, what + ": out of memory");
  rtnl_link_set_name(l.get(), name.c_str());
  if (int rc = rtnl_link_set_type(l.get(), kind.c_str()); rc < 0) return nl_failure(rc, what);
  int rc = rtnl_link_add(sock_, l.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (rc < 0) {
    if (errno_from_nl(rc) == EEXIST) return Status::success(false);
    return nl_failure(rc, what);
  }
  return Status::success(true);
}

Status Rtnl::delete_link(const std::string& name) {
  const std::string what = "delete link " + name;
  if (Status s = ensure_open(what); !s) return s;
  LinkPtr l(rtnl_link_alloc());
  if (!l) return Status::error(ENOMEM, what + ": out of memory");
  rtnl_link_set_name(l.get(), name.c_str());
  int rc = rtnl_link_delete(sock_, l.get());
  if (rc < 0) {
    int code = errno_from_nl(rc);
    if (code == ENODEV || code == ENOENT) return Status::success(false);
    return nl_failure(rc, what);
  }
  return Status::success(true);
}

Status Rtnl::set_up(const std::string& name, bool up) {
  const std::string what = std::string("set link ") + name + (up ? " up" : " down");
  if (Status s = ensure_open(what); !s) return s;
  rtnl_link* raw = nullptr;
  int rc = rtnl_link_get_kernel(sock_, 0, name.c_str(), &raw);
  LinkPtr cur(raw);
  if (rc < 0) return nl_failure(rc, what);
  bool is_up = (rtnl_link_get_flags(cur.get()) & IFF_UP) != 0;
  if (is_up == up) return Status::success(false);
  LinkPtr change(rtnl_link_alloc());
  if (!change) return Status::error(ENOMEM, what + ": out of memory");
  if (up)
    rtnl_link_set_flags(change.get(), IFF_UP);
  else
    rtnl_link_unset_flags(change.get(), IFF_UP);
  rc = rtnl_link_change(sock_, cur.get(), change.get(), 0);
  if (rc < 0) return nl_failure(rc, what);
  return Status::success(true);
}

namespace {

// The rtnl_addr naming `addr` on link `index`, for an add or a delete.
Status address_object(int index, const IpPrefix& addr, const std::string& what, AddrPtr& out) {
  out.reset(rtnl_addr_alloc());
  NlAddrPtr local = to_nl(addr.addr, addr.prefix);
  if (!out || !local) return Status::error(ENOMEM, what + ": out of memory");
  rtnl_addr_set_ifindex(out.get(), index);
  rtnl_addr_set_family(out.get(), addr.addr.family);
  if (int rc = rtnl_addr_set_local(out.get(), local.get()); rc < 0) return nl_failure(rc, what);
  rtnl_addr_set_prefixlen(out.get(), addr.prefix);
  return Status::success(true);
}

}  // namespace

Status Rtnl::add_address(const std::string& name, const IpPrefix& addr) {
  const std::string what = "add address " + addr.to_string() + " to " + name;
  int index = 0;
  if (Status s = ifindex(name, what, index); !s) return s;
  AddrPtr a;
  if (Status s = address_object(index, addr, what, a); !s) return s;
  if (addr.addr.family == AF_INET6) rtnl_addr_set_flags(a.get(), IFA_F_NODAD);
  int rc = rtnl_addr_add(sock_, a.get(), NLM_F_EXCL);
  if (rc < 0) {
    if (errno_from_nl(rc) == EEXIST) return Status::success(false);
    return nl_failure(rc, what);
  }
  return Status::success(true);
}

Status Rtnl::delete_address(const std::string& name, const IpPrefix& addr) {
  const std::string what = "delete address " + addr.to_string() + " from " + name;
  int index = 0;
  if (Status s = ifindex(name, what, index); !s) {
    if (s.code == ENODEV) return Status::success(false);  // the link is gone, so is the address
    return s;
  }
  AddrPtr a;
  if (Status s = address_object(index, addr, what, a); !s) return s;
  int rc = rtnl_addr_delete(sock_, a.get(), 0);
  if (rc < 0) {
    int code = errno_from_nl(rc);
    if (code == EADDRNOTAVAIL || code == ENOENT || code == ESRCH) return Status::success(false);
    return nl_failure(rc, what);
  }
  return Status::success(true);
}

Status Rtnl::list_addresses(const std::string& name, std::vector<IpPrefix>& out) {
  out.clear();
  const std::string what = "list addresses of " + name;
  int index = 0;
  if (Status s = ifindex(name, what, index); !s) return s;
  nl_cache* raw = nullptr;
  int rc = rtnl_addr_alloc_cache(sock_, &raw);
  CachePtr cache(raw);
  if (rc < 0) return nl_failure(rc, what);
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    if (rtnl_addr_get_ifindex(a) != index) continue;
    nl_addr* local = rtnl_addr_get_local(a);
    if (!local) local = rtnl_addr_get_peer(a);
    if (!local) continue;
    IpPrefix p = from_nl(local);
    p.prefix = static_cast<uint8_t>(rtnl_addr_get_prefixlen(a));
    out.push_back(p);
  }
  return Status::success();
}

namespace {

RoutePtr make_route(const IpPrefix& dst, int index) {
  IpPrefix m = dst.masked();
  RoutePtr r(rtnl_route_alloc());
  NlAddrPtr d = to_nl(m.addr, m.prefix);
  if (!r || !d) return nullptr;
  rtnl_route_set_family(r.get(), static_cast<uint8_t>(m.addr.family));
  rtnl_route_set_table(r.get(), RT_TABLE_MAIN);
  rtnl_route_set_scope(r.get(), RT_SCOPE_LINK);
  rtnl_route_set_protocol(r.get(), RTPROT_STATIC);
  rtnl_route_set_type(r.get(), RTN_UNICAST);
  if (rtnl_route_set_dst(r.get(), d.get()) < 0) return nullptr;
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  if (!nh) return nullptr;
  rtnl_route_nh_set_ifindex(nh, index);
  rtnl_route_add_nexthop(r.get(), nh);  // owned by the route now
  return r;
}

}  // namespace

Status Rtnl::add_route(const IpPrefix& dst, const std::string& name) {
  const std::string what = "add route " + dst.masked().to_string() + " dev " + name;
  int index = 0;
  if (Status s = ifindex(name, what, index); !s) return s;
  RoutePtr r = make_route(dst, index);
  if (!r) return Status::error(ENOMEM, what + ": out of memory");
  int rc = rtnl_route_add(sock_, r.get(), NLM_F_EXCL);
  if (rc < 0) {
    if (errno_from_nl(rc) == EEXIST) return Status::success(false);
    return nl_failure(rc, what);
  }
  return Status::success(true);
}

Status Rtnl::delete_route(const IpPrefix& dst, const std::string& name) {
  const std::string what = "delete route " + dst.masked().to_string() + " dev " + name;
  int index = 0;
  if (Status s = ifindex(name, what, index); !s) {
    if (s.code == ENODEV) return Status::success(false);
    return s;
  }
  RoutePtr r = make_route(dst, index);
  if (!r) return Status::error(ENOMEM, what + ": out of memory");
  int rc = rtnl_route_delete(sock_, r.get(), 0);
  if (rc < 0) {
    int code = errno_from_nl(rc);
    if (code == ENOENT || code == ESRCH || code == EADDRNOTAVAIL) return Status::success(false);
    return nl_failure(rc, what);
  }
  return Status::success(true);
}

}  // namespace ferry::netlink
