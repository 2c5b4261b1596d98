// Resolve-and-validate driver and the helpers its hooks share: see resolve.h. The checks
// themselves live beside each section's keyword table (sections/*.cpp, `SectionSpec::resolve`).
#include "resolve.h"

#include <arpa/inet.h>

#include <algorithm>

#include "suggest.h"

namespace ferry::config::detail {

std::shared_ptr<Config> resolve(Draft& dr, Ctx& ctx, const std::string& main_file) {
  auto cfg = std::make_shared<Config>();
  for (const auto& f : ctx.src.files) cfg->files.push_back(f.name);
  Resolution r{dr, ctx, *cfg, main_file, {}, {}};
  const Registry& reg = Registry::get();
  for (Pass pass : kPasses)
    for (const SectionSpec& spec : reg.specs())
      for (const auto& [when, hook] : spec.resolve)
        if (when == pass) hook(r);
  return cfg;
}

Timeouts inherit(const TimeoutSet& defaults, const TimeoutSet& own) {
  Timeouts t;
  Duration* f[kTimeoutCount] = {&t.connect, &t.client, &t.server, &t.http_request,
                                &t.http_keep_alive, &t.tunnel, &t.queue, &t.drain};
  for (int k = 0; k < kTimeoutCount; ++k) {
    if (defaults[k]) *f[k] = *defaults[k];
    if (own[k]) *f[k] = *own[k];
  }
  return t;
}

HttpLimits inherit(const LimitsSet& defaults, const LimitsSet& own) {
  HttpLimits l;
  l.max_request_line = own.max_request_line.value_or(defaults.max_request_line.value_or(l.max_request_line));
  l.max_header_size = own.max_header_size.value_or(defaults.max_header_size.value_or(l.max_header_size));
  l.max_headers = own.max_headers.value_or(defaults.max_headers.value_or(l.max_headers));
  l.h2_max_streams = own.h2_max_streams.value_or(defaults.h2_max_streams.value_or(l.h2_max_streams));
  return l;
}

int lookup(Ctx& ctx, const Arg& ref, const std::unordered_map<std::string, int>& idx,
           const std::vector<std::string>& names, const char* kind) {
  if (ref.bad) return -1;
  auto it = idx.find(ref.text);
  if (it != idx.end()) return it->second;
  // Past the diagnostics cap only the count matters: skip the suggestion's cost.
  if (ctx.diags.full()) {
    ctx.error(ref.loc, {});
    return -1;
  }
  ctx.error(ref.loc, std::string("unknown ") + kind + " '" + ref.text + "'" + did_you_mean(ref.text, names));
  return -1;
}

bool binds_conflict(const Address& a, const Address& b) {
  if (a.port == 0 || a.port != b.port) return false;
  if (a.host == b.host) return true;
  if (a.host == "::" || b.host == "::") return true;  // dual-stack wildcard
  if (a.host.empty()) return !b.is_v6();
  if (b.host.empty()) return !a.is_v6();
  return false;
}

bool cidr_contains(const Cidr& c, const std::string& ip) {
  const bool v6 = c.is_v6();
  unsigned char net[16] = {}, addr[16] = {};
  const int af = v6 ? AF_INET6 : AF_INET;
  if (ip.empty() || inet_pton(af, c.network.c_str(), net) != 1 || inet_pton(af, ip.c_str(), addr) != 1) return false;
  const int bits = c.prefix, len = v6 ? 16 : 4;
  for (int i = 0; i < len; ++i) {
    const int keep = std::clamp(bits - 8 * i, 0, 8);
    const unsigned char mask = static_cast<unsigned char>(keep == 0 ? 0 : 0xFF << (8 - keep));
    if ((net[i] & mask) != (addr[i] & mask)) return false;
  }
  return true;
}

}  // namespace ferry::config::detail
