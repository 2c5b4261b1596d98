// `mesh` section (at most one): this node's WireGuard interface and backhaul listener, and one
// `peer NAME` block per other Ferry node. Cross-section checks (a server's `node` names a
// peer, backhaul addresses) are in resolve.cpp.
#include <algorithm>

#include "ferry/util/base64.h"
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
  r.add(std::move(s));
}

}  // namespace ferry::config::detail
