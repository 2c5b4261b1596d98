// `tracing` section: W3C Trace Context on every HTTP request and OTLP/HTTP (JSON) export of
// one span per hop (at most one section), and its resolve hook: the endpoint is required.
#include <charconv>

#include "resolve.h"
#include "sections/common.h"

namespace ferry::config::detail {

namespace {

TracingDraft& cur(Draft& d) { return *d.tracing; }

// `endpoint http://HOST[:PORT]/PATH`: HOST an IP literal (IPv6 in brackets) or a DNS name.
void endpoint(Ctx& ctx, const Directive& d, Draft& dr) {
  if (!ctx.arity(d, 1, 1, "endpoint URL")) return;
  const Arg& a = d.args[0];
  std::string_view u = a.text;
  auto bad = [&](const std::string& why) {
    ctx.error(a.loc, "invalid tracing endpoint '" + a.text + "': " + why +
                         " (expected http://HOST:PORT/PATH, e.g. http://127.0.0.1:4318/v1/traces)");
  };
  if (u.rfind("https://", 0) == 0) {
    bad("https is not supported: point it at a collector or agent on this host or the mesh");
    return;
  }
  if (u.rfind("http://", 0) != 0) {
    bad("not an http:// URL");
    return;
  }
  u.remove_prefix(7);
  const size_t slash = u.find('/');
  std::string_view authority = u.substr(0, slash);
  std::string path = slash == std::string_view::npos ? "/v1/traces" : std::string(u.substr(slash));
  if (path.find_first_of(" \t\"<>#?") != std::string::npos || path.find("..") != std::string::npos) {
    bad("the path may not hold blanks, quotes, <>, '#', '?' or '..'");
    return;
  }
  std::string host;
  uint16_t port = 80;
  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      bad("unterminated '[' in the host");
      return;
    }
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') {
        bad("unexpected text after ']'");
        return;
      }
      port_text = authority.substr(close + 2);
      has_port = true;
    }
  } else {
    const size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1), has_port = true;
  }
  bool host_ok = !host.empty() && host.size() <= 253;
  for (char c : host)
    host_ok = host_ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                          c == '-' || c == ':');
  if (!host_ok) {
    bad("the host is not an IP address or a DNS name");
    return;
  }
  if (has_port) {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), v);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || v == 0 || v > 65535) {
      bad("the port is not 1..65535");
      return;
    }
    port = static_cast<uint16_t>(v);
  }
  Tracing& t = cur(dr).tracing;
  t.endpoint = a.text;
  t.endpoint_host = host;
  t.endpoint_port = port;
  t.endpoint_path = path;
  cur(dr).endpoint_arg = a;
}

// `sample 0.25` or `sample 25%`: 0..1.
void sample(Ctx& ctx, const Directive& d, Draft& dr) {
  if (!ctx.arity(d, 1, 1, "sample RATIO|N%")) return;
  const Arg& a = d.args[0];
  std::string_view t = a.text;
  const bool percent = !t.empty() && t.back() == '%';
  if (percent) t.remove_suffix(1);
  double v = -1;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (percent) v /= 100;
  if (t.empty() || ec != std::errc() || end != t.data() + t.size() || !(v >= 0 && v <= 1)) {
    ctx.error(a.loc, "invalid sample '" + a.text + "': expected a ratio 0..1 (0.05) or a percentage (5%)");
    return;
  }
  cur(dr).tracing.sample = v;
}

void errors(Ctx& ctx, const Directive& d, Draft& dr) {
  if (!ctx.arity(d, 1, 1, "errors on|off")) return;
  if (auto c = ctx.choice(d.args[0], {"on", "off"}, "value")) cur(dr).tracing.errors = *c == 0;
}

void service_name(Ctx& ctx, const Directive& d, Draft& dr) {
  if (!ctx.arity(d, 1, 1, "service-name NAME")) return;
  const Arg& a = d.args[0];
  bool ok = !a.text.empty() && a.text.size() <= 128;
  for (char c : a.text) ok = ok && c > ' ' && c < 0x7f && c != '"' && c != '\\';
  if (!ok) {
    ctx.error(a.loc, "invalid service name '" + a.text + "': 1..128 printable characters, no blanks, '\"' or '\\'");
    return;
  }
  cur(dr).tracing.service_name = a.text;
}

void queue(Ctx& ctx, const Directive& d, Draft& dr) {
  if (!ctx.arity(d, 1, 1, "queue N")) return;
  if (auto v = ctx.integer(d.args[0], 64, 1000000)) cur(dr).tracing.queue = static_cast<uint32_t>(*v);
}

void interval(Ctx& ctx, const Directive& d, Draft& dr) {
  if (!ctx.arity(d, 1, 1, "interval DURATION")) return;
  auto v = ctx.duration(d.args[0]);
  if (!v) return;
  if (*v < std::chrono::milliseconds(100) || *v > std::chrono::minutes(1)) {
    ctx.error(d.args[0].loc, "interval out of range (100ms..1m)");
    return;
  }
  cur(dr).tracing.interval = *v;
}

void slow(Ctx& ctx, const Directive& d, Draft& dr) {
  if (!ctx.arity(d, 1, 1, "slow DURATION")) return;
  if (auto v = ctx.duration(d.args[0])) cur(dr).tracing.slow = *v;
}

// `ui-url https://jaeger.example.com/trace/%{trace-id}`: the console's link to a trace.
void ui_url(Ctx& ctx, const Directive& d, Draft& dr) {
  if (!ctx.arity(d, 1, 1, "ui-url URL")) return;
  const Arg& a = d.args[0];
  const bool scheme = a.text.rfind("https://", 0) == 0 || a.text.rfind("http://", 0) == 0;
  if (!scheme || a.text.find("%{trace-id}") == std::string::npos ||
      a.text.find_first_of(" \t\"<>'") != std::string::npos) {
    ctx.error(a.loc, "invalid ui-url '" + a.text + "': expected an http(s):// URL holding %{trace-id}, "
                                                    "e.g. https://jaeger.example.com/trace/%{trace-id}");
    return;
  }
  cur(dr).tracing.ui_url = a.text;
}

void resolve_tracing(Resolution& r) {
  if (!r.dr.tracing) return;
  if (!r.dr.tracing->endpoint_arg)
    r.ctx.error(r.dr.tracing->loc, "the 'tracing' section needs 'endpoint URL' (the collector's OTLP/HTTP traces "
                                   "receiver, e.g. http://127.0.0.1:4318/v1/traces)");
  r.cfg.tracing = r.dr.tracing->tracing;
}

}  // namespace

void register_section_tracing(Registry& r) {
  SectionSpec s;
  s.kind = "tracing";
  s.begin = [](Ctx& ctx, const Section& sec, const Arg&, Draft& draft) {
    if (draft.tracing) {
      ctx.error(sec.kind.loc, "duplicate 'tracing' section (only one is allowed)");
      ctx.note(draft.tracing->loc, "first defined here");
      return;
    }
    draft.tracing.emplace();
    draft.tracing->loc = sec.kind.loc;
    draft.tracing->tracing.loc = ctx.source_loc(sec.kind.loc);
  };
  s.directives = {
      {"endpoint", endpoint},   {"sample", sample},     {"errors", errors}, {"service-name", service_name},
      {"queue", queue},         {"interval", interval}, {"ui-url", ui_url},         {"slow", slow},
  };
  s.resolve = {{Pass::links, resolve_tracing}};
  r.add(std::move(s));
}

}  // namespace ferry::config::detail
