// `catalog` section (at most one): where the live instance catalog is shared (docs/CATALOG.md).
// Without `etcd` it is the embedded back end; `etcd URL...` selects etcd, with its key prefix,
// lease TTL, TLS files and authentication. `instances-dir` adds the file provider. The resolve
// hook checks that the options go together.
#include <sys/stat.h>

#include <cerrno>
#include <charconv>

#include "resolve.h"
#include "sections/common.h"

namespace ferry::config::detail {

namespace {

Catalog& cur(Draft& d) { return d.catalog_cfg; }

// One client URL: http(s)://HOST:PORT with HOST an IP literal (IPv6 in brackets) or a DNS
// name, an explicit port, and no path. Empty when fine, else why not.
std::string check_url(std::string_view u) {
  if (u.rfind("http://", 0) == 0) u.remove_prefix(7);
  else if (u.rfind("https://", 0) == 0) u.remove_prefix(8);
  else return "not an http:// or https:// URL";
  if (!u.empty() && u.back() == '/') u.remove_suffix(1);
  if (u.find('/') != std::string_view::npos) return "a client URL has no path";
  std::string_view host, port;
  if (!u.empty() && u.front() == '[') {
    const size_t close = u.find(']');
    if (close == std::string_view::npos || close + 1 >= u.size() || u[close + 1] != ':')
      return "expected [IPv6]:PORT";
    host = u.substr(1, close - 1);
    port = u.substr(close + 2);
  } else {
    const size_t colon = u.rfind(':');
    if (colon == std::string_view::npos) return "the port is missing (etcd's is usually 2379)";
    host = u.substr(0, colon);
    port = u.substr(colon + 1);
  }
  bool ok = !host.empty() && host.size() <= 253;
  for (char c : host)
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                c == ':');
  if (!ok) return "the host is not an IP address or a DNS name";
  unsigned v = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
  if (ec != std::errc() || end != port.data() + port.size() || v == 0 || v > 65535) return "the port is not 1..65535";
  return {};
}

void etcd(Ctx& ctx, const Directive& d, Draft& dr) {
  if (!ctx.arity(d, 1, 16, "etcd URL...")) return;
  std::vector<std::string> urls;
  for (const Arg& a : d.args) {
    if (a.bad) return;
    if (const std::string why = check_url(a.text); !why.empty()) {
      ctx.error(a.loc, "invalid etcd endpoint '" + a.text + "': " + why + " (expected e.g. http://10.0.0.1:2379)");
      return;
    }
    std::string u = a.text;
    if (u.back() == '/') u.pop_back();
    urls.push_back(std::move(u));
  }
  cur(dr).etcd = std::move(urls);
}

// `prefix /ferry/catalog/`: printable, no blanks, starting and ending with '/'.
void prefix(Ctx& ctx, const Directive& d, Draft& dr) {
  if (!ctx.arity(d, 1, 1, "prefix KEY")) return;
  const Arg& a = d.args[0];
  bool ok = a.text.size() >= 2 && a.text.size() <= 128 && a.text.front() == '/' && a.text.back() == '/';
  for (char c : a.text) ok = ok && c > ' ' && c < 0x7f;
  if (!ok) {
    ctx.error(a.loc, "invalid prefix '" + a.text + "': 2..128 printable characters without blanks, starting and "
                     "ending with '/' (e.g. /ferry/catalog/)");
    return;
  }
  cur(dr).prefix = a.text;
}

void lease_ttl(Ctx& ctx, const Directive& d, Draft& dr) {
  if (!ctx.arity(d, 1, 1, "lease-ttl DURATION")) return;
  auto v = ctx.duration(d.args[0]);
  if (!v) return;
  if (*v < std::chrono::seconds(2) || *v > std::chrono::minutes(1)) {
    ctx.error(d.args[0].loc, "lease-ttl out of range (2s..1m)");
    return;
  }
  cur(dr).lease_ttl = *v;
}

// `ca-file PATH`, `cert PATH`, `key PATH`, `password-file PATH`: files read at start and reload.
DirectiveSpec file_spec(const char* kw, std::string Catalog::*field, std::optional<Arg> CatalogDraft::*arg) {
  auto h = [kw, field, arg](Ctx& ctx, const Directive& d, Draft& dr) {
    if (!ctx.arity(d, 1, 1, std::string(kw) + " PATH")) return;
    if (d.args[0].text.empty()) {
      ctx.error(d.args[0].loc, std::string("empty ") + kw + " path");
      return;
    }
    cur(dr).*field = input_path(ctx, d.args[0]);
    if (arg) (*dr.catalog).*arg = d.args[0];
  };
  return {kw, h};
}

// `instances-dir PATH`: must be a directory (the file provider watches it).
void instances_dir(Ctx& ctx, const Directive& d, Draft& dr) {
  if (!ctx.arity(d, 1, 1, "instances-dir PATH")) return;
  const Arg& a = d.args[0];
  if (a.text.empty()) {
    ctx.error(a.loc, "empty instances-dir path");
    return;
  }
  const std::string path = input_path(ctx, a);
  struct stat st {};
  if (!ctx.access && (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))) {
    ctx.error(a.loc, "instances-dir '" + a.text + "' is not a directory" +
                         (errno == ENOENT ? std::string(" (it does not exist)") : std::string()));
    return;
  }
  cur(dr).instances_dir = path;
}

void user(Ctx& ctx, const Directive& d, Draft& dr) {
  if (!ctx.arity(d, 1, 1, "user NAME")) return;
  const Arg& a = d.args[0];
  bool ok = !a.text.empty() && a.text.size() <= 128;
  for (char c : a.text) ok = ok && c > ' ' && c < 0x7f && c != '"' && c != '\\';
  if (!ok) {
    ctx.error(a.loc, "invalid etcd user '" + a.text + "': 1..128 printable characters, no blanks, '\"' or '\\'");
    return;
  }
  cur(dr).user = a.text;
  dr.catalog->user_arg = a;
}

// Pass own: options that only make sense together.
void resolve_catalog(Resolution& r) {
  if (!r.dr.catalog) return;
  const CatalogDraft& c = *r.dr.catalog;
  const Catalog& cfg = r.dr.catalog_cfg;
  if (c.user_arg && !c.password_file_arg)
    r.ctx.error(c.user_arg->loc, "'user' needs 'password-file PATH' (the etcd user's password)");
  if (c.password_file_arg && !c.user_arg)
    r.ctx.error(c.password_file_arg->loc, "'password-file' needs 'user NAME'");
  if (c.cert_arg && !c.key_arg) r.ctx.error(c.cert_arg->loc, "'cert' needs 'key PATH' (the client certificate's key)");
  if (c.key_arg && !c.cert_arg) r.ctx.error(c.key_arg->loc, "'key' needs 'cert PATH'");
  if (cfg.etcd.empty() && (c.user_arg || c.cert_arg || !cfg.ca_file.empty()))
    r.ctx.warning(c.loc, "the 'catalog' section has etcd options but no 'etcd URL...': the embedded catalog is used");
}

void freeze_catalog(Resolution& r) {
  if (!r.dr.catalog) return;
  r.cfg.catalog = r.dr.catalog_cfg;
  r.cfg.catalog.loc = r.ctx.source_loc(r.dr.catalog->loc);
}

}  // namespace

void register_section_catalog(Registry& r) {
  SectionSpec s;
  s.kind = "catalog";
  s.begin = [](Ctx& ctx, const Section& sec, const Arg&, Draft& draft) {
    if (draft.catalog) {
      ctx.error(sec.kind.loc, "duplicate 'catalog' section (only one is allowed)");
      ctx.note(draft.catalog->loc, "first defined here");
      return;
    }
    draft.catalog.emplace();
    draft.catalog->loc = sec.kind.loc;
  };
  s.directives = {
      {"etcd", etcd},
      {"prefix", prefix},
      {"lease-ttl", lease_ttl},
      file_spec("ca-file", &Catalog::ca_file, nullptr),
      file_spec("cert", &Catalog::cert, &CatalogDraft::cert_arg),
      file_spec("key", &Catalog::key, &CatalogDraft::key_arg),
      file_spec("password-file", &Catalog::password_file, &CatalogDraft::password_file_arg),
      {"user", user},
      {"instances-dir", instances_dir},
  };
  s.resolve = {{Pass::own, resolve_catalog}, {Pass::freeze, freeze_catalog}};
  r.add(std::move(s));
}

}  // namespace ferry::config::detail
