#include "plan/tls_plan.h"

#include <map>
#include <utility>

#include "log.h"
#include "tls/certificate.h"
#include "tls/client_context.h"
#include "tls/server_context.h"
#include "tls/sni_select.h"

namespace ferry::proxy {
namespace {

std::string where(const config::SourceLoc& loc) {
  return loc.file + ":" + std::to_string(loc.line) + ":" + std::to_string(loc.col);
}

// One context per (file, minimum version): apps sharing a certificate file share its context.
class ContextCache {
 public:
  explicit ContextCache(std::shared_ptr<tls::TicketKeyRing> tickets) : tickets_(std::move(tickets)) {}

  std::shared_ptr<SSL_CTX> get(const std::string& path, int min_version, std::string& error) {
    auto key = std::make_pair(path, min_version);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
    auto loaded = tls::load_certificate_file(path);
    if (!loaded.ok()) {
      error = loaded.errors.empty() ? path + ": cannot load" : loaded.errors.front();
      return nullptr;
    }
    tls::TlsOptions opt;
    opt.min_version = min_version;
    opt.alpn = served_alpn();
    auto ctx = tls::make_server_ctx(*loaded.material, opt, &error);
    if (!ctx) return nullptr;
    if (!tls::install(ctx.get(), tickets_)) {
      error = path + ": cannot install session ticket keys";
      return nullptr;
    }
    cache_.emplace(key, ctx);
    return ctx;
  }

 private:
  std::shared_ptr<tls::TicketKeyRing> tickets_;
  std::map<std::pair<std::string, int>, std::shared_ptr<SSL_CTX>> cache_;
};

}  // namespace

const std::vector<std::string>& served_alpn() {
  static const std::vector<std::string> alpn = {"h2", "http/1.1"};
  return alpn;
}

namespace {

bool has_tls_bind(const config::Frontend& fe) {
  for (const auto& b : fe.binds)
    if (b.tls) return true;
  return false;
}

// An app's ACME certificate as a context, and the app hosts it covers. Null when the app has
// none yet; a certificate that stopped loading (e.g. expired since it was set) is logged by
// the caller through `errors` only when it cannot be served at all.
std::shared_ptr<SSL_CTX> acme_context(const config::App& app, const DynamicTls& dynamic,
                                      const std::shared_ptr<tls::TicketKeyRing>& tickets,
                                      std::vector<std::string>& covered, std::string& error) {
  auto it = dynamic.certificates.find(app.name);
  if (it == dynamic.certificates.end()) return nullptr;
  auto loaded = tls::load_certificate_pem(it->second.chain_pem + it->second.key_pem,
                                          "ACME certificate of app " + app.name);
  if (!loaded.ok()) {
    error = loaded.errors.empty() ? "ACME certificate of app " + app.name + ": cannot load" : loaded.errors.front();
    return nullptr;
  }
  for (const auto& host : app.hosts)
    if (certificate_covers(loaded.material->names, host)) covered.push_back(host);
  tls::TlsOptions opt;
  opt.min_version = app.tls_min == config::TlsVersion::v1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
  opt.alpn = served_alpn();
  auto ctx = tls::make_server_ctx(*loaded.material, opt, &error);
  if (ctx && !tls::install(ctx.get(), tickets)) {
    error = "ACME certificate of app " + app.name + ": cannot install session ticket keys";
    return nullptr;
  }
  return ctx;
}

// The apps' certificates, selected by the apps' hosts; shared by every TLS frontend. Problems
// are appended to `errors`, one line each.
std::shared_ptr<tls::CertificateSet> app_certificates(const config::Config& cfg, ContextCache& cache,
                                                      const DynamicTls& dynamic,
                                                      const std::shared_ptr<tls::TicketKeyRing>& tickets,
                                                      std::string& errors) {
  auto apps = std::make_shared<tls::CertificateSet>();
  apps->challenges = dynamic.challenges;
  for (const auto& app : cfg.apps) {
    if (app.certificate == "acme") {
      std::vector<std::string> covered;
      std::string err;
      auto ctx = acme_context(app, dynamic, tickets, covered, err);
      if (!ctx) {
        // Not a plan error: a reload must not fail because a stored certificate expired
        // (the ACME thread is renewing it); its hosts go without until it does.
        if (!err.empty()) log(config::LogLevel::warning, err + " (app " + app.name + "): not served");
        continue;
      }
      int index = static_cast<int>(apps->contexts.size());
      apps->contexts.push_back(std::move(ctx));
      for (const auto& host : covered) {
        std::string reason;
        if (!apps->names.add(host, index, reason))
          errors += "host " + host + " of app " + app.name + ": " + reason + "\n";
      }
      continue;
    }
    if (app.certificate.empty()) continue;
    std::string err;
    int min = app.tls_min == config::TlsVersion::v1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
    auto ctx = cache.get(app.certificate, min, err);
    if (!ctx) {
      errors += err + " (app " + app.name + ", " + where(app.certificate_loc) + ")\n";
      continue;
    }
    int index = static_cast<int>(apps->contexts.size());
    apps->contexts.push_back(std::move(ctx));
    for (const auto& host : app.hosts) {
      std::string reason;
      if (!apps->names.add(host, index, reason))
        errors += "host " + host + " of app " + app.name + ": " + reason + "\n";
    }
  }
  return apps;
}

}  // namespace

bool certificate_covers(const std::vector<std::string>& names, const std::string& host) {
  for (const auto& n : names) {
    if (n == host) return true;
    // "*.example.com" covers "a.example.com" (one label), not "example.com" or "a.b.example.com".
    if (n.size() > 2 && n.compare(0, 2, "*.") == 0) {
      size_t dot = host.find('.');
      if (dot != std::string::npos && dot > 0 && host.compare(dot, std::string::npos, n, 1) == 0) return true;
    }
  }
  return false;
}

std::shared_ptr<SSL_CTX> make_acme_challenge_ctx(const std::string& cert_pem, const std::string& key_pem,
                                                 std::shared_ptr<tls::TicketKeyRing> tickets, std::string& error) {
  auto loaded = tls::load_certificate_pem(cert_pem + key_pem, "ACME challenge certificate");
  if (!loaded.ok()) {
    error = loaded.errors.empty() ? "ACME challenge certificate: cannot load" : loaded.errors.front();
    return nullptr;
  }
  tls::TlsOptions opt;
  opt.alpn = {std::string(tls::kAcmeTlsAlpn)};
  auto ctx = tls::make_server_ctx(*loaded.material, opt, &error);
  if (ctx && tickets && !tls::install(ctx.get(), tickets)) {
    error = "ACME challenge certificate: cannot install session ticket keys";
    return nullptr;
  }
  return ctx;
}

bool build_tls_plan(const config::Config& cfg, std::shared_ptr<tls::TicketKeyRing> tickets,
                    const DynamicTls& dynamic, TlsPlan& out, std::string& error) {
  out.fronts.assign(cfg.frontends.size(), nullptr);
  ContextCache cache(tickets);
  std::string errors;
  std::shared_ptr<const tls::CertificateSet> apps;  // loaded at the first TLS frontend, if any
  for (size_t i = 0; i < cfg.frontends.size(); ++i) {
    const auto& fe = cfg.frontends[i];
    if (!has_tls_bind(fe)) continue;
    if (!apps) apps = app_certificates(cfg, cache, dynamic, tickets, errors);
    std::shared_ptr<const tls::CertificateSet> set = apps;
    if (!fe.default_certificate.empty()) {
      std::string err;
      auto ctx = cache.get(fe.default_certificate, TLS1_2_VERSION, err);
      if (!ctx) {
        errors += err + " (frontend " + fe.name + ", " + where(fe.default_certificate_loc) + ")\n";
        continue;
      }
      auto with_default = std::make_shared<tls::CertificateSet>(*apps);
      with_default->default_index = static_cast<int>(with_default->contexts.size());
      with_default->contexts.push_back(std::move(ctx));
      set = std::move(with_default);
    }
    std::string err;
    auto front = tls::make_front_ctx({}, &err);
    if (!front || !tls::install(front.get(), tickets) || !tls::install_sni_selector(front.get(), set)) {
      errors += "frontend " + fe.name + ": cannot set up TLS: " + (err.empty() ? "OpenSSL refused" : err) + "\n";
      continue;
    }
    out.fronts[i] = std::move(front);
  }
  out.upstreams.assign(cfg.backends.size(), {});
  for (size_t b = 0; b < cfg.backends.size(); ++b) {
    const auto& be = cfg.backends[b];
    out.upstreams[b].assign(be.servers.size(), nullptr);
    for (size_t s = 0; s < be.servers.size(); ++s) {
      const auto& sv = be.servers[s];
      if (sv.proto != config::UpstreamProto::h2) continue;
      std::string err;
      out.upstreams[b][s] = tls::make_client_ctx(sv.ca_file, sv.verify, &err);
      if (!out.upstreams[b][s]) errors += "backend " + be.name + ", server " + sv.name + ": " + err + " (" + where(sv.loc) + ")\n";
    }
  }
  if (!errors.empty()) {
    errors.pop_back();
    error = std::move(errors);
    return false;
  }
  return true;
}

}  // namespace ferry::proxy
