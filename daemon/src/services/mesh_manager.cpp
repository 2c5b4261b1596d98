#include "services/mesh_manager.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "ferry/netlink/route.h"
#include "ferry/netlink/supervisor.h"
#include "ferry/netlink/wg_kernel.h"
#include "ferry/netlink/wg_uapi.h"
#include "services/logging.h"

namespace ferry::daemon {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using netlink::IpPrefix;
using netlink::Status;

constexpr milliseconds kRefresh{2000};      // status refresh and supervisor check period
constexpr milliseconds kRetryMin{2000};     // first retry of a failed apply
constexpr milliseconds kRetryMax{60000};

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const char* driver_word(config::WgDriver d) {
  switch (d) {
    case config::WgDriver::kernel: return "kernel";
    case config::WgDriver::userspace: return "userspace";
    default: return "auto";
  }
}

// What identifies a device: changing any of it tears the old one down first.
std::string identity(const config::Mesh& m) {
  std::string id = m.interface + "|" + driver_word(m.driver);
  for (const auto& a : m.userspace_command) id += "|" + a;
  return id;
}

std::string peer_name(const config::Mesh& m, const netlink::WgKey& key) {
  for (const auto& p : m.peers)
    if (auto k = netlink::WgKey::from_base64(p.public_key); k && *k == key) return p.name;
  return key.to_base64();
}

}  // namespace

struct MeshManager::State {
  std::shared_ptr<const config::Config> cfg;
  netlink::Rtnl rtnl;
  // The WireGuard device, when set up.
  std::string iface;
  std::string id;  // identity() of the mesh it was set up for
  std::unique_ptr<netlink::WgControl> wg;
  std::unique_ptr<netlink::Supervisor> sup;
  bool created_link = false;               // a kernel link Ferry created (deleted at stop)
  std::optional<IpPrefix> address;         // the mesh address Ferry added to it
  std::set<IpPrefix> routes;               // routes Ferry added via it
  std::map<netlink::WgKey, std::string> names;  // peer names of the last applied config (for logs)
  // Anycast addresses: (interface, prefix) -> whether Ferry added it.
  std::map<std::pair<std::string, IpPrefix>, bool> anycast;
  std::string mesh_error, anycast_error;
  bool need_apply = true;
  Clock::time_point retry_at{};
  milliseconds retry_delay = kRetryMin;

  bool apply();
  bool apply_mesh(const config::Mesh& m);
  bool setup_device(const config::Mesh& m);
  bool configure_device(const config::Mesh& m);
  void teardown_mesh();
  bool apply_anycast(const std::vector<config::AnycastAddress>& want);
  void teardown_anycast();
  void tick();
  mesh::MeshStatus snapshot();
};

bool MeshManager::State::setup_device(const config::Mesh& m) {
  const std::string& name = m.interface;
  if (!m.userspace_command.empty()) {
    netlink::Supervisor::Options o;
    o.command = m.userspace_command;
    o.interface = name;
    auto s = std::make_unique<netlink::Supervisor>(o);
    if (Status st = s->start(); !st) {
      mesh_error = "mesh: " + st.message;
      return false;
    }
    logger().information("mesh: started " + m.userspace_command.front() + " for " + name +
                         " pid=" + std::to_string(s->pid()));
    sup = std::move(s);
    wg = std::make_unique<netlink::UapiWg>(name);
  } else if (m.driver == config::WgDriver::kernel) {
    Status st = rtnl.create_link(name, "wireguard");
    if (!st) {
      mesh_error = "mesh: " + st.message;
      return false;
    }
    created_link = st.changed;
    wg = std::make_unique<netlink::KernelWg>(name);
  } else if (m.driver == config::WgDriver::userspace) {
    wg = std::make_unique<netlink::UapiWg>(name);
  } else {
    netlink::WgDriverChoice c = netlink::detect_wg_driver(rtnl, name);
    if (c.kernel) {
      created_link = c.created;
      wg = std::make_unique<netlink::KernelWg>(name);
    } else {
      logger().information("mesh: kernel WireGuard not used for " + name + " (" + c.why.message +
                           "), using the userspace API socket");
      wg = std::make_unique<netlink::UapiWg>(name);
    }
  }
  iface = name;
  id = identity(m);
  logger().information("mesh: interface " + name + " driver=" + wg->driver_name() +
                       (created_link ? " (link created)" : ""));
  return true;
}

bool MeshManager::State::configure_device(const config::Mesh& m) {
  netlink::WgKey key;
  std::string error;
  if (!mesh::read_private_key(m.private_key_file, key, error)) {
    mesh_error = "mesh " + iface + ": " + error;
    return false;
  }
  netlink::WgDeviceConfig want;
  if (!mesh::device_config(m, key, want, error)) {
    mesh_error = "mesh " + iface + ": " + error;
    return false;
  }
  netlink::WgDeviceStatus have;
  if (Status s = wg->get(have); !s) {
    mesh_error = "mesh: " + s.message;
    return false;
  }
  netlink::WgSet set = netlink::reconcile(want, have);
  if (!set.empty()) {
    if (Status s = wg->set(set); !s) {
      mesh_error = "mesh: " + s.message;
      return false;
    }
    if (set.private_key) logger().information("mesh: " + iface + ": private key set from " + m.private_key_file);
    if (set.listen_port) logger().information("mesh: " + iface + ": listen port " + std::to_string(*set.listen_port));
    for (const auto& op : set.peers) {
      std::string what = op.remove ? "removed" : have.find(op.public_key) ? "updated" : "added";
      auto old = names.find(op.public_key);  // a removed peer is named by the config it came from
      std::string name = op.remove && old != names.end() ? old->second : peer_name(m, op.public_key);
      logger().information("mesh: " + iface + ": peer " + name + " " + what);
    }
  }
  names.clear();
  for (const auto& p : m.peers)
    if (auto k = netlink::WgKey::from_base64(p.public_key)) names[*k] = p.name;
  bool ok = true;
  auto fail = [&](const Status& s) {  // apply() logs mesh_error
    mesh_error += (ok ? "mesh: " : "; ") + s.message;
    ok = false;
  };
  // The mesh address (a changed one replaces the old one Ferry added).
  if (auto addr = mesh::to_prefix(m.address)) {
    if (address && *address != *addr) {
      if (Status s = rtnl.delete_address(iface, *address); !s) fail(s);
      address.reset();
    }
    Status s = rtnl.add_address(iface, *addr);
    if (!s)
      fail(s);
    else if (s.changed) {
      address = *addr;
      logger().information("mesh: address " + addr->to_string() + " added to " + iface);
    }
  }
  if (Status s = rtnl.set_up(iface, true); !s) fail(s);
  // Routes for allowed IPs outside the address's own prefix.
  std::vector<IpPrefix> want_routes = mesh::peer_routes(m);
  for (const IpPrefix& r : want_routes) {
    Status s = rtnl.add_route(r, iface);
    if (!s)
      fail(s);
    else if (s.changed)
      routes.insert(r);
  }
  for (auto it = routes.begin(); it != routes.end();) {
    if (std::find(want_routes.begin(), want_routes.end(), *it) != want_routes.end()) {
      ++it;
      continue;
    }
    if (Status s = rtnl.delete_route(*it, iface); !s) fail(s);
    it = routes.erase(it);
  }
  return ok;
}

bool MeshManager::State::apply_mesh(const config::Mesh& m) {
  if (wg && id != identity(m)) {
    logger().information("mesh: interface or driver changed, replacing " + iface);
    teardown_mesh();
  }
  if (!wg && !setup_device(m)) return false;
  return configure_device(m);
}

void MeshManager::State::teardown_mesh() {
  if (!wg && !sup) return;
  for (const IpPrefix& r : routes) rtnl.delete_route(r, iface);
  routes.clear();
  if (address) {
    if (Status s = rtnl.delete_address(iface, *address); !s) logger().warning("mesh: " + s.message);
    address.reset();
  }
  if (sup) {
    sup->stop();  // the program removes its interface
    logger().information("mesh: stopped the userspace WireGuard program of " + iface);
    sup.reset();
  } else if (created_link) {
    if (Status s = rtnl.delete_link(iface); !s)
      logger().warning("mesh: " + s.message);
    else
      logger().information("mesh: link " + iface + " deleted");
  }
  created_link = false;
  wg.reset();
  iface.clear();
  id.clear();
}

bool MeshManager::State::apply_anycast(const std::vector<config::AnycastAddress>& want) {
  bool ok = true;
  anycast_error.clear();
  auto fail = [&](const std::string& msg) {
    if (ok) anycast_error = "anycast: " + msg;
    ok = false;
    logger().warning("anycast: " + msg);
  };
  std::set<std::pair<std::string, IpPrefix>> wanted;
  for (const config::AnycastAddress& a : want) {
    auto p = mesh::to_prefix(a.cidr);
    if (!p) {
      fail("bad address " + a.cidr.to_string());
      continue;
    }
    auto key = std::make_pair(a.interface, *p);
    wanted.insert(key);
    if (a.interface == "lo") {
      Status up = rtnl.set_up("lo", true);
      if (!up)
        fail(up.message);
      else if (up.changed)
        logger().information("anycast: lo was down, brought it up");
    }
    Status s = rtnl.add_address(a.interface, *p);
    if (!s) {
      fail(s.message);
      continue;
    }
    auto it = anycast.find(key);
    if (it == anycast.end()) {
      anycast[key] = s.changed;
      logger().information("anycast: " + p->to_string() + " on " + a.interface +
                           (s.changed ? " added" : " already present (left in place at removal)"));
    } else if (s.changed) {
      it->second = true;  // someone removed it meanwhile; it is ours now
      logger().information("anycast: " + p->to_string() + " re-added to " + a.interface);
    }
  }
  for (auto it = anycast.begin(); it != anycast.end();) {
    if (wanted.count(it->first)) {
      ++it;
      continue;
    }
    if (it->second) {
      Status s = rtnl.delete_address(it->first.first, it->first.second);
      if (!s)
        fail(s.message);
      else
        logger().information("anycast: " + it->first.second.to_string() + " removed from " + it->first.first);
    }
    it = anycast.erase(it);
  }
  return ok;
}

void MeshManager::State::teardown_anycast() {
  for (const auto& [key, added] : anycast) {
    if (!added) continue;
    Status s = rtnl.delete_address(key.first, key.second);
    if (!s)
      logger().warning("anycast: " + s.message);
    else
      logger().information("anycast: " + key.second.to_string() + " removed from " + key.first);
  }
  anycast.clear();
}

bool MeshManager::State::apply() {
  const config::Config& c = *cfg;
  bool ok = apply_anycast(c.anycast);
  mesh_error.clear();
  if (c.mesh) {
    if (!apply_mesh(*c.mesh)) {
      ok = false;
      if (!mesh_error.empty()) logger().warning(mesh_error);
    }
  } else {
    teardown_mesh();
  }
  return ok;
}

void MeshManager::State::tick() {
  if (sup) {
    Status p = sup->poll();
    if (!p) {
      logger().warning("mesh: " + p.message);
    } else if (p.changed) {
      logger().information("mesh: userspace WireGuard for " + iface + " restarted pid=" + std::to_string(sup->pid()));
      need_apply = true;
      retry_at = {};
    }
  }
  if (need_apply && Clock::now() >= retry_at) {
    if (apply()) {
      need_apply = false;
      retry_delay = kRetryMin;
    } else {
      retry_at = Clock::now() + retry_delay;
      retry_delay = std::min(kRetryMax, retry_delay * 2);
    }
  }
}

mesh::MeshStatus MeshManager::State::snapshot() {
  mesh::MeshStatus ms;
  const config::Mesh* m = cfg && cfg->mesh ? &*cfg->mesh : nullptr;
  ms.configured = m != nullptr;
  ms.interface = m ? m->interface : iface;
  ms.error = mesh_error.empty() ? anycast_error : mesh_error;
  if (wg) {
    ms.driver = wg->driver_name();
    netlink::WgDeviceStatus dev;
    if (Status s = wg->get(dev); s) {
      if (dev.public_key) ms.public_key = dev.public_key->to_base64();
      ms.listen_port = dev.listen_port;
      ms.peers = mesh::peer_status(m, dev, unix_now());
    } else {
      if (ms.error.empty()) ms.error = "mesh: " + s.message;
      if (!need_apply) {
        // The device went away (deleted by hand, program restarting): apply again.
        logger().warning("mesh: " + s.message);
        need_apply = true;
      }
    }
  }
  std::map<std::string, std::vector<IpPrefix>> present;
  for (const auto& [key, added] : anycast) {
    auto it = present.find(key.first);
    if (it == present.end()) {
      it = present.emplace(key.first, std::vector<IpPrefix>{}).first;
      rtnl.list_addresses(key.first, it->second);
    }
    mesh::AnycastStatus a;
    a.address = key.second.to_string();
    a.interface = key.first;
    a.added_by_ferry = added;
    a.present = std::find(it->second.begin(), it->second.end(), key.second) != it->second.end();
    ms.anycast.push_back(std::move(a));
  }
  return ms;
}

MeshManager::MeshManager() : state_(std::make_unique<State>()), cell_(std::make_shared<mesh::MeshStatusCell>()) {}

MeshManager::~MeshManager() { stop(); }

bool MeshManager::apply(std::shared_ptr<const config::Config> cfg, milliseconds bound) {
  const uint64_t ticket = follower_.post(std::move(cfg));
  if (!follower_.running())
    follower_.start([this](const Snapshot& c, bool fresh) { return step(c, fresh); });
  return follower_.wait_applied(ticket, bound);
}

milliseconds MeshManager::step(const Snapshot& cfg, bool fresh) {
  State& st = *state_;
  if (fresh) {
    st.cfg = cfg;
    st.need_apply = true;
    st.retry_at = {};
    st.retry_delay = kRetryMin;
  }
  try {
    st.tick();
    cell_->set(st.snapshot());
  } catch (const std::exception& e) {
    logger().error(std::string("mesh: unexpected error: ") + e.what());
  }
  return kRefresh;
}

void MeshManager::stop() {
  follower_.stop();
  if (torn_down_ || !state_->cfg) return;
  torn_down_ = true;
  state_->teardown_anycast();
  state_->teardown_mesh();
  cell_->set(mesh::MeshStatus{});
}

}  // namespace ferry::daemon
