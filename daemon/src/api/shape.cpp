#include "api/shape.h"

#include <algorithm>

namespace ferry::daemon::api {

const proxy::AppStats* find_app(const proxy::EngineStats& s, const std::string& name) {
  for (const auto& a : s.apps)
    if (a.name == name) return &a;
  return nullptr;
}

const proxy::ServerStats* find_server(const proxy::EngineStats& s, const std::string& backend,
                                      const std::string& name) {
  for (const auto& v : s.servers)
    if (v.backend == backend && v.name == name) return &v;
  return nullptr;
}

const proxy::FrontendStats* find_frontend(const proxy::EngineStats& s, const std::string& name) {
  for (const auto& f : s.frontends)
    if (f.name == name) return &f;
  return nullptr;
}

StatsIndex::StatsIndex(const proxy::EngineStats& s) {
  apps_.reserve(s.apps.size());
  for (const auto& a : s.apps) apps_.emplace(a.name, &a);
  servers_.reserve(s.servers.size());
  for (const auto& v : s.servers) servers_.emplace(v.backend + '\0' + v.name, &v);
}

const proxy::AppStats* StatsIndex::app(const std::string& name) const {
  auto it = apps_.find(name);
  return it == apps_.end() ? nullptr : it->second;
}

const proxy::ServerStats* StatsIndex::server(const std::string& backend, const std::string& name) const {
  auto it = servers_.find(backend + '\0' + name);
  return it == servers_.end() ? nullptr : it->second;
}

uint64_t class_requests(const proxy::AppStats& a, int cls) {
  uint64_t n = 0;
  for (const auto& by_class : a.requests) n += by_class[static_cast<size_t>(cls)];
  return n;
}

uint64_t total_requests(const proxy::AppStats& a) {
  uint64_t n = 0;
  for (int c = 0; c < proxy::kStatusClasses; ++c) n += class_requests(a, c);
  return n;
}

double quantile_ms(const proxy::Histogram& h, double q) {
  if (h.count == 0) return 0;
  const double rank = q * static_cast<double>(h.count);
  uint64_t below = 0;
  double lower = 0;
  for (size_t i = 0; i < proxy::kDurationBuckets.size(); ++i) {
    const double upper = proxy::kDurationBuckets[i];
    if (static_cast<double>(h.counts[i]) >= rank) {
      const uint64_t in = h.counts[i] - below;
      const double frac = in ? (rank - static_cast<double>(below)) / static_cast<double>(in) : 1.0;
      return (lower + (upper - lower) * std::clamp(frac, 0.0, 1.0)) * 1000.0;
    }
    below = h.counts[i];
    lower = upper;
  }
  return proxy::kDurationBuckets.back() * 1000.0;
}

namespace {

const char* mode_name(config::Mode m) { return m == config::Mode::tcp ? "tcp" : "http"; }

std::string default_region(const config::Config& cfg, const config::Server& sv) {
  if (!sv.region.empty()) return sv.region;
  if (sv.peer >= 0 && cfg.mesh && static_cast<size_t>(sv.peer) < cfg.mesh->peers.size())
    return cfg.mesh->peers[static_cast<size_t>(sv.peer)].region;
  return cfg.global.region;
}

}  // namespace

void write_app_members(util::JsonWriter& w, const config::Config& cfg, const config::App& app, const proxy::AppStats* st,
                       double rps, const std::vector<uint64_t>& spark) {
  w.field("name", app.name).field("mode", mode_name(app.mode)).field_strings("hosts", app.hosts);
  std::string backend;
  if (app.backend >= 0 && static_cast<size_t>(app.backend) < cfg.backends.size())
    backend = cfg.backends[static_cast<size_t>(app.backend)].name;
  w.field("backend", backend);
  w.field("inflight", st ? st->inflight : 0).field("queued", st ? st->queued : 0);
  w.field("soft", st ? st->soft : app.concurrency.soft).field("hard", st ? st->hard : app.concurrency.hard);
  w.field("rejected", st ? st->rejected : uint64_t{0});
  w.field("requests", st ? total_requests(*st) : uint64_t{0});
  w.field("rps", rps);
  w.key("status").begin_object();
  // Same order as the doc: 1xx..5xx, then none (index 0).
  for (int c = 1; c <= proxy::kStatusClasses; ++c) {
    int cls = c % proxy::kStatusClasses;
    w.field(proxy::kStatusClassNames[cls], st ? class_requests(*st, cls) : uint64_t{0});
  }
  w.end_object();
  w.key("spark").begin_array();
  for (uint64_t v : spark) w.value(v);
  w.end_array();
}

void write_server(util::JsonWriter& w, const config::Config& cfg, const config::Backend& be, const config::Server& sv,
                  const proxy::ServerStats* st, bool drained) {
  w.begin_object();
  w.field("backend", be.name).field("name", sv.name);
  w.field("address", st && !st->address.empty() ? st->address : sv.addr.to_string());
  w.field("node", st ? st->node : sv.node);
  w.field("region", st && !st->region.empty() ? st->region : default_region(cfg, sv));
  w.field("healthy", st ? st->healthy : true).field("ejected", st ? st->ejected : false);
  w.field("drained", st ? st->drained : drained).field("disabled", st ? st->disabled : sv.disabled);
  w.field("inflight", st ? st->inflight : 0).field("remote_inflight", st ? st->remote_inflight : 0);
  w.field("ewma_latency_ms", st ? st->ewma_latency_us / 1000.0 : 0.0);
  w.field("connect_errors", st ? st->connect_errors : uint64_t{0});
  w.field("retries", st ? st->retries : uint64_t{0});
  w.field("responses", st ? st->responses : uint64_t{0});
  w.end_object();
}

void write_frontend(util::JsonWriter& w, const config::Frontend& fe, const proxy::FrontendStats* st,
                    const std::vector<std::string>& listening) {
  w.begin_object();
  w.field("name", fe.name).field("mode", mode_name(fe.mode));
  w.key("binds").begin_array();
  for (size_t i = 0; i < fe.binds.size(); ++i) {
    w.begin_object();
    w.field("address", fe.binds[i].addr.to_string()).field("tls", fe.binds[i].tls);
    w.field("listening", i < listening.size() ? listening[i] : std::string());
    w.end_object();
  }
  w.end_array();
  w.field("connections_total", st ? st->connections_total : uint64_t{0});
  w.field("connections_active", st ? st->connections_active : int64_t{0});
  w.field("tls_handshakes", st ? st->tls_handshakes : uint64_t{0});
  w.key("tls_failures").begin_object();
  // The documented reasons always appear (0 when none); any other reason the engine reports
  // is added after them.
  static const char* kReasons[] = {"no-certificate", "protocol", "timeout", "other"};
  auto count_of = [&](const std::string& reason) -> uint64_t {
    if (st)
      for (const auto& [r, n] : st->tls_failures)
        if (r == reason) return n;
    return 0;
  };
  for (const char* r : kReasons) w.field(r, count_of(r));
  if (st)
    for (const auto& [r, n] : st->tls_failures)
      if (std::find(std::begin(kReasons), std::end(kReasons), r) == std::end(kReasons)) w.field(r, n);
  w.end_object();
  w.end_object();
}

void write_certificate(util::JsonWriter& w, const CertStatus& c) {
  w.begin_object();
  w.field("app", c.app);
  if (!c.frontend.empty()) w.field("frontend", c.frontend);
  w.field("source", c.source).field_strings("hosts", c.hosts).field("issuer", c.issuer);
  w.field("not_before", c.not_before).field("not_after", c.not_after);
  w.field("state", c.state).field("last_error", c.last_error);
  w.field("next_renewal", c.next_renewal).field("renewal_failures", c.renewal_failures);
  w.end_object();
}

namespace {

void split_host_port(const std::string& a, std::string& host, std::string& port) {
  size_t colon = a.rfind(':');
  host = colon == std::string::npos ? a : a.substr(0, colon);
  port = colon == std::string::npos ? "" : a.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
}

}  // namespace

std::vector<std::string> match_listeners(const config::Frontend& fe, const std::vector<std::string>& bound) {
  std::vector<std::string> out(fe.binds.size());
  std::vector<bool> used(bound.size(), false);
  // Exact ports first, so a port-0 bind never takes the listener of an explicit one.
  for (int pass = 0; pass < 2; ++pass)
    for (size_t i = 0; i < fe.binds.size(); ++i) {
      const config::Address& a = fe.binds[i].addr;
      if ((pass == 0) != (a.port != 0) || !out[i].empty()) continue;
      const std::string want_host = a.host.empty() ? "0.0.0.0" : a.host;
      for (size_t j = 0; j < bound.size(); ++j) {
        if (used[j]) continue;
        std::string host, port;
        split_host_port(bound[j], host, port);
        if (host != want_host || (a.port != 0 && port != std::to_string(a.port))) continue;
        used[j] = true;
        out[i] = bound[j];
        break;
      }
    }
  return out;
}

namespace {

// One token of a config line: [begin, end) byte offsets. Blanks separate tokens, quotes group
// ("..." with backslash escapes, '...' literal), an unquoted '#' starts a comment.
struct Span {
  size_t begin, end;
};

std::vector<Span> tokens_of(std::string_view line, size_t max_tokens) {
  std::vector<Span> out;
  size_t i = 0;
  while (i < line.size() && out.size() < max_tokens) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size() || line[i] == '#') break;
    size_t b = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '#') {
      if (line[i] == '"' || line[i] == '\'') {
        char q = line[i++];
        while (i < line.size() && line[i] != q) {
          if (q == '"' && line[i] == '\\' && i + 1 < line.size()) ++i;
          ++i;
        }
        if (i < line.size()) ++i;  // the closing quote
      } else {
        ++i;
      }
    }
    out.push_back({b, i});
  }
  return out;
}

// The text a token stands for, quotes removed as the config lexer removes them: "..." with \"
// and \\ escapes, '...' literal, quoted and unquoted parts joined ("admin-"'user' is
// admin-user). ${VAR} is left as written.
std::string unquoted(std::string_view tok) {
  std::string out;
  for (size_t i = 0; i < tok.size(); ++i) {
    char c = tok[i];
    if (c != '"' && c != '\'') {
      out += c;
      continue;
    }
    for (++i; i < tok.size() && tok[i] != c; ++i) {
      if (c == '"' && tok[i] == '\\' && i + 1 < tok.size() && (tok[i + 1] == '"' || tok[i + 1] == '\\')) ++i;
      out += tok[i];
    }
  }
  return out;
}

}  // namespace

namespace {

// Rewrites the HASH token of every `admin-user NAME HASH` line with `replace(name, hash)`.
template <typename Replace>
std::string rewrite_admin_hashes(std::string_view text, Replace replace) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string_view::npos ? text.size() : nl;
    std::string_view line = text.substr(pos, end - pos);
    auto toks = tokens_of(line, 3);
    if (toks.size() == 3 && unquoted(line.substr(toks[0].begin, toks[0].end - toks[0].begin)) == "admin-user") {
      const std::string name = unquoted(line.substr(toks[1].begin, toks[1].end - toks[1].begin));
      out.append(line.substr(0, toks[2].begin));
      out += replace(name, line.substr(toks[2].begin, toks[2].end - toks[2].begin));
      out.append(line.substr(toks[2].end));
    } else {
      out.append(line);
    }
    if (nl != std::string_view::npos) out += '\n';
    pos = end + 1;
  }
  return out;
}

}  // namespace

std::string mask_admin_hashes(std::string_view text) {
  return rewrite_admin_hashes(text, [](std::string_view, std::string_view) { return std::string("<hash>"); });
}

std::string restore_admin_hashes(std::string_view text, const std::vector<config::AdminUser>& users) {
  return rewrite_admin_hashes(text, [&](std::string_view name, std::string_view hash) {
    if (hash == "<hash>")
      for (const auto& u : users)
        if (u.name == name) return u.password_hash;
    return std::string(hash);
  });
}

std::string diagnostics_json(const config::LoadResult& r) {
  util::JsonWriter w;
  w.begin_object();
  w.field("ok", r.ok()).field("errors", r.error_count()).field("warnings", r.warning_count());
  if (r.omitted_errors + r.omitted_warnings > 0) w.field("omitted", r.omitted_errors + r.omitted_warnings);
  w.key("diagnostics").begin_array();
  for (const auto& d : r.diagnostics) {
    const char* sev = d.severity == config::Diagnostic::Severity::error     ? "error"
                      : d.severity == config::Diagnostic::Severity::warning ? "warning"
                                                                            : "note";
    std::string text = config::format(d);
    // The first line only: the caret display is for terminals.
    if (size_t nl = text.find('\n'); nl != std::string::npos) text.resize(nl);
    w.begin_object();
    w.field("file", d.file).field("line", d.line).field("col", d.col).field("severity", sev);
    w.field("message", d.message).field("text", text);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return w.take();
}

}  // namespace ferry::daemon::api
