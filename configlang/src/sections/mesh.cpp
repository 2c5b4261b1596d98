// `mesh` section (at most one): this node's WireGuard interface and backhaul listener, and one
// `peer NAME` block per other Ferry node; its resolve hooks: required directives, backhaul
// addresses inside the mesh, names that can travel in backhaul metadata, and the backhaul
// frontend. (A server's `node` naming a peer is the backend's hook.) Also the `anycast`
// section.
#include <algorithm>
#include <cctype>

#include "ferry/util/base64.h"
#include "resolve.h"
#include "sections/common.h"
#include "suggest.h"
#include "values.h"

namespace ferry::config::detail {

namespace {

using R = DirectiveSpec::Repeat;
MeshDraft& cur(Draft& d) { return *d.mesh; }

// A WireGuard key as `wg genkey` / `wg pubkey` print it: 32 bytes in base64 (44 characters,
// one '=' of padding). The strict decoder refuses other padding and a last character whose 2
// unused bits are not zero.
bool valid_wg_key(const std::string& s) {
  auto bytes = util::base64_decode(s, util::Base64Alphabet::standard, util::Base64Padding::required);
  return bytes && bytes->size() == 32;
}

std::optional<Address> host_port(Ctx& ctx, const Arg& a, const char* what) {
  auto addr = ctx.address(a);
  if (!addr) return std::nullopt;
  if (addr->host.empty() || addr->port == 0) {
    ctx.error(a.loc, std::string("invalid ") + what + " '" + a.text + "': expected IP:PORT with a port 1..65535");
    return std::nullopt;
  }
  return addr;
}

// `peer NAME` with its indented block.
void peer(Ctx& ctx, const Directive& d, Draft& dr) {
  if (!ctx.arity(d, 1, 1, "peer NAME")) return;
  MeshPeer p;
  p.name = d.args[0].text;
  p.loc = ctx.source_loc(d.args[0].loc);
  for (const auto& prev : cur(dr).peer_args)
    if (prev.text == p.name) {
      ctx.error(d.args[0].loc, "duplicate peer '" + p.name + "'");
      ctx.note(prev.loc, "first defined here");
      return;
    }
  if (d.children.empty())
    ctx.error(d.end_loc(), "peer '" + p.name + "' needs an indented block (public-key, backhaul, region, ...)");
  static const std::vector<std::string> kws = {"public-key", "endpoint", "allowed-ips", "backhaul",
                                               "region", "latency", "persistent-keepalive"};
  std::vector<std::string> seen;
  std::optional<Loc> key_loc, backhaul_loc, region_loc, backhaul_value;
  for (const Directive& c : d.children) {
    if (c.keyword.bad) continue;
    const std::string& k = c.keyword.text;
    if (std::find(kws.begin(), kws.end(), k) == kws.end()) {
      ctx.error(c.keyword.loc, "unknown peer directive '" + k + "'" + did_you_mean(k, kws));
      continue;
    }
    if (!c.children.empty())
      ctx.error(c.children[0].keyword.loc, "unexpected indented line: '" + k + "' takes no block");
    if (std::find(seen.begin(), seen.end(), k) != seen.end() && k != "allowed-ips") {
      ctx.error(c.keyword.loc, "'" + k + "' is already set in peer '" + p.name + "'");
      continue;
    }
    seen.push_back(k);
    if (k == "allowed-ips") {
      if (!ctx.arity(c, 1, -1, "allowed-ips CIDR...")) continue;
      for (const auto& a : c.args)
        if (auto v = ctx.cidr(a)) p.allowed_ips.push_back(*v);
      continue;
    }
    if (!ctx.arity(c, 1, 1, k + " VALUE")) continue;
    const Arg& v = c.args[0];
    if (k == "public-key") {
      key_loc = c.keyword.loc;
      if (!valid_wg_key(v.text)) ctx.error(v.loc, "invalid public key: expected 32 bytes in base64 (44 characters, as 'wg pubkey' prints)");
      else p.public_key = v.text;
    } else if (k == "endpoint") {
      p.endpoint = host_port(ctx, v, "endpoint");
    } else if (k == "backhaul") {
      backhaul_loc = c.keyword.loc;
      if (auto a = host_port(ctx, v, "backhaul address")) {
        p.backhaul = *a;
        backhaul_value = v.loc;
      }
    } else if (k == "region") {
      region_loc = c.keyword.loc;
      if (v.text.empty()) ctx.error(v.loc, "empty region name");
      p.region = v.text;
    } else if (k == "latency") {
      if (auto t = ctx.duration(v)) p.latency = *t;
    } else if (k == "persistent-keepalive") {
      if (auto t = ctx.duration(v)) {
        if (*t > std::chrono::seconds(65535) || (t->count() % 1000) != 0) ctx.error(v.loc, "persistent-keepalive must be whole seconds, at most 65535s");
        else p.keepalive = *t;
      }
    }
  }
  if (!d.children.empty()) {
    if (!key_loc) ctx.error(d.args[0].loc, "peer '" + p.name + "' needs 'public-key KEY'");
    if (!backhaul_loc) ctx.error(d.args[0].loc, "peer '" + p.name + "' needs 'backhaul IP:PORT' (where its backhaul listens)");
    if (!region_loc) ctx.error(d.args[0].loc, "peer '" + p.name + "' needs 'region NAME'");
  }
  cur(dr).peer_args.push_back(d.args[0]);
  cur(dr).peer_backhaul_locs.push_back(backhaul_value);
  cur(dr).mesh.peers.push_back(std::move(p));
}

// Pass own: required directives; peers' backhaul addresses; app and server names fit the
// backhaul metadata. Sets Config::mesh (with its peer index) for the later passes.
void resolve_mesh(Resolution& r) {
  Draft& dr = r.dr;
  Ctx& ctx = r.ctx;
  if (!dr.mesh) return;
  MeshDraft& m = *dr.mesh;
  Mesh& mesh = m.mesh;
  if (!m.private_key_arg) ctx.error(m.loc, "the 'mesh' section needs 'private-key PATH' (a WireGuard key as 'wg genkey' prints it)");
  if (!m.address_arg) ctx.error(m.loc, "the 'mesh' section needs 'address CIDR' (this node's address inside the mesh)");
  if (!m.backhaul_arg) ctx.error(m.loc, "the 'mesh' section needs 'backhaul IP:PORT' (where peers reach this node's backhaul)");
  if (!mesh.userspace_command.empty()) {
    if (mesh.driver == WgDriver::kernel && m.driver_arg)
      ctx.error(m.driver_arg->loc, "'driver kernel' with 'userspace PROGRAM': a userspace program is for 'driver userspace'");
    mesh.driver = WgDriver::userspace;
  }
  if (mesh.peer_timeout < 2 * mesh.ping_interval)
    ctx.error(m.peer_timeout_arg ? m.peer_timeout_arg->loc : m.loc, "peer-timeout " + duration_to_string(mesh.peer_timeout) +
                                           " is shorter than two ping intervals (" +
                                           duration_to_string(mesh.ping_interval) + " each)");
  for (size_t i = 0; i < mesh.peers.size(); ++i) {
    const MeshPeer& p = mesh.peers[i];
    mesh.peer_index.emplace(p.name, static_cast<int>(i));
    if (p.name == dr.global.node)
      ctx.error(m.peer_args[i].loc, "peer '" + p.name + "' has this node's own name (global 'node')");
  }
  // The backhaul trusts its peers by source address (allowed-ips), which only WireGuard
  // vouches for: it listens on this node's mesh address, and each peer's backhaul is inside
  // that peer's allowed-ips (else requests with Ferry-* metadata would leave the tunnel).
  const Cidr own{mesh.address.network, static_cast<uint8_t>(mesh.address.is_v6() ? 128 : 32)};
  if (m.backhaul_arg && m.address_arg && !cidr_contains(own, mesh.backhaul.host))
    ctx.error(m.backhaul_arg->loc, "mesh backhaul " + m.backhaul_arg->text + " is not this node's mesh address (" +
                                       mesh.address.network + "): the backhaul must listen inside the mesh, "
                                       "where WireGuard vouches for each peer's source address");
  for (size_t i = 0; i < mesh.peers.size(); ++i) {
    const MeshPeer& p = mesh.peers[i];
    if (!m.peer_backhaul_locs[i]) continue;  // missing or invalid: reported by the parser
    bool inside = false;
    for (const auto& c : p.allowed_ips) inside = inside || cidr_contains(c, p.backhaul.host);
    if (!inside)
      ctx.error(*m.peer_backhaul_locs[i], "peer '" + p.name + "': its backhaul " + p.backhaul.to_string() +
                                        " is not inside its allowed-ips: backhaul traffic to it would not go "
                                        "through WireGuard");
  }
  // App and server names travel in backhaul metadata (headers, a PROXY TLV, load reports).
  auto plain = [](const std::string& n) {
    if (n.empty() || n.size() > 128) return false;
    for (char c : n)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') return false;
    return true;
  };
  const std::string why = ": with a mesh, app and server names must be 1..128 characters of A-Z a-z 0-9 . _ - "
                          "(they travel in backhaul metadata)";
  for (const auto& a : dr.apps)
    if (!plain(a.app.name)) ctx.error(a.name.loc, "app name '" + a.app.name + "'" + why);
  for (const auto& b : dr.backends)
    for (const auto& n : b.server_names)
      if (!plain(n.text)) ctx.error(n.loc, "server name '" + n.text + "'" + why);
  r.cfg.mesh = mesh;
}

// Pass freeze, after the frontends moved into the Config: the backhaul listener as frontend
// `(backhaul)` on `mesh backhaul`, trusting every peer's allowed-ips.
void add_backhaul_frontend(Resolution& r) {
  Config& cfg = r.cfg;
  if (!cfg.mesh || !r.dr.mesh->backhaul_arg) return;
  Frontend bh;
  bh.name = "(backhaul)";
  bh.backhaul = true;
  bh.mode = Mode::http;
  bh.binds.push_back(Bind{cfg.mesh->backhaul, false, false, cfg.mesh->loc});
  bh.timeouts = cfg.default_timeouts;
  bh.limits = inherit(r.dr.defaults.limits, LimitsSet{});
  bh.limits.h2_max_streams = 1000;  // one connection per peer carries all its edge's requests
  for (const auto& p : cfg.mesh->peers)
    for (const auto& c : p.allowed_ips) bh.trusted.push_back(c);
  bh.loc = cfg.mesh->loc;
  for (const auto& f : cfg.frontends)
    for (size_t i = 0; i < f.binds.size(); ++i)
      if (binds_conflict(f.binds[i].addr, bh.binds[0].addr)) {
        r.ctx.error(r.dr.mesh->backhaul_arg->loc, "mesh backhaul " + r.dr.mesh->backhaul_arg->text +
                                                      " conflicts with a bind of frontend '" + f.name + "'");
        break;
      }
  cfg.frontends.push_back(std::move(bh));
}

}  // namespace

void register_section_mesh(Registry& r) {
  SectionSpec s;
  s.kind = "mesh";
  s.begin = [](Ctx& ctx, const Section& sec, const Arg&, Draft& draft) {
    if (draft.mesh) {
      ctx.error(sec.kind.loc, "duplicate 'mesh' section (only one is allowed)");
      ctx.note(draft.mesh->loc, "first defined here");
      return;
    }
    draft.mesh.emplace();
    draft.mesh->loc = sec.kind.loc;
    draft.mesh->mesh.loc = ctx.source_loc(sec.kind.loc);
  };
  s.directives = {
      {"interface", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, 1, "interface NAME")) return;
         const std::string& n = d.args[0].text;
         bool ok = !n.empty() && n.size() < 16 && n != "." && n != "..";
         for (char c : n) ok = ok && c > ' ' && c < 0x7f && c != '/' && c != ':';
         if (!ok) ctx.error(d.args[0].loc, "invalid interface name '" + n + "' (1..15 characters, no '/', ':' or blanks)");
         else cur(dr).mesh.interface = n;
       }},
      {"private-key", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, 1, "private-key PATH")) return;
         if (d.args[0].text.empty()) return ctx.error(d.args[0].loc, "empty private-key path");
         cur(dr).mesh.private_key_file = input_path(ctx, d.args[0]);
         cur(dr).mesh.private_key_loc = ctx.source_loc(d.args[0].loc);
         cur(dr).private_key_arg = d.args[0];
       }},
      {"listen-port", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, 1, "listen-port PORT")) return;
         if (auto n = ctx.integer(d.args[0], 1, 65535)) cur(dr).mesh.listen_port = static_cast<uint16_t>(*n);
       }},
      {"address", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, 1, "address CIDR")) return;
         if (auto c = ctx.cidr(d.args[0])) {
           cur(dr).mesh.address = *c;
           cur(dr).address_arg = d.args[0];
         }
       }},
      {"backhaul", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, 1, "backhaul IP:PORT")) return;
         if (auto a = host_port(ctx, d.args[0], "backhaul address")) {
           cur(dr).mesh.backhaul = *a;
           cur(dr).backhaul_arg = d.args[0];
         }
       }},
      {"driver", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, 1, "driver auto|kernel|userspace")) return;
         if (auto c = ctx.choice(d.args[0], {"auto", "kernel", "userspace"}, "WireGuard driver")) {
           cur(dr).mesh.driver = static_cast<WgDriver>(*c);
           cur(dr).driver_arg = d.args[0];
         }
       }},
      {"userspace", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, -1, "userspace PROGRAM [ARG...]")) return;
         for (const auto& a : d.args) cur(dr).mesh.userspace_command.push_back(a.text);
         cur(dr).mesh.userspace_command[0] = resolve_path(ctx, d.args[0]);
       }},
      {"ping-interval", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, 1, "ping-interval DURATION")) return;
         if (auto t = ctx.duration(d.args[0])) {
           if (t->count() < 100) ctx.error(d.args[0].loc, "ping-interval must be at least 100ms");
           else cur(dr).mesh.ping_interval = *t;
         }
       }},
      {"peer-timeout", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, 1, "peer-timeout DURATION")) return;
         if (auto t = ctx.duration(d.args[0])) {
           if (t->count() < 200) ctx.error(d.args[0].loc, "peer-timeout must be at least 200ms");
           else {
             cur(dr).mesh.peer_timeout = *t;
             cur(dr).peer_timeout_arg = d.args[0];
           }
         }
       }},
      {"peer", peer, R::many, true},
  };
  s.resolve = {{Pass::own, resolve_mesh}, {Pass::freeze, add_backhaul_frontend}};
  r.add(std::move(s));
}

// `anycast` sections: addresses Ferry puts on an interface (lo by default).
void register_section_anycast(Registry& r) {
  SectionSpec s;
  s.kind = "anycast";
  s.directives = {
      {"address", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, 4, "address CIDR [interface NAME] [shared]")) return;
         AnycastAddress a;
         auto c = ctx.cidr(d.args[0]);
         if (!c) return;
         a.cidr = *c;
         a.loc = ctx.source_loc(d.args[0].loc);
         for (size_t i = 1; i < d.args.size(); ++i) {
           const Arg& o = d.args[i];
           if (o.text == "shared") {
             a.shared = true;
           } else if (o.text == "interface") {
             if (i + 1 >= d.args.size()) return ctx.error(d.end_loc(), "missing interface name after 'interface'");
             a.interface = d.args[++i].text;
           } else {
             return ctx.error(o.loc, "unknown anycast address option '" + o.text + "' (expected 'interface NAME' or 'shared')" +
                                         did_you_mean(o.text, {"interface", "shared"}));
           }
         }
         for (size_t i = 0; i < dr.anycast.size(); ++i)
           if (dr.anycast[i].cidr.network == a.cidr.network) {
             ctx.error(d.args[0].loc, "anycast address " + a.cidr.network + " is listed twice");
             ctx.note(dr.anycast_args[i].loc, "first listed here");
             return;
           }
         dr.anycast.push_back(a);
         dr.anycast_args.push_back(d.args[0]);
       }, R::many},
  };
  s.resolve = {{Pass::names, [](Resolution& r) { r.cfg.anycast = r.dr.anycast; }}};
  r.add(std::move(s));
}

}  // namespace ferry::config::detail
