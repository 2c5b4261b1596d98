#include "plan/tls_plan.h"

#include <utility>

#include "log/log.h"
#include "tls/certificate.h"
#include "tls/server_context.h"
#include "tls/sni_select.h"

namespace ferry::proxy {

const std::vector<std::string>& served_alpn() {
  static const std::vector<std::string> alpn = {"h2", "http/1.1"};
  return alpn;
}

bool has_tls_bind(const config::Frontend& fe) {
  for (const auto& b : fe.binds)
    if (b.tls) return true;
  return false;
}

namespace {

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
std::shared_ptr<tls::CertificateSet> app_certificates(const PreparedConfig& prepared, const DynamicTls& dynamic,
                                                      std::string& errors) {
  const config::Config& cfg = *prepared.config;
  auto apps = std::make_shared<tls::CertificateSet>();
  apps->challenges = dynamic.challenges;
  for (size_t i = 0; i < cfg.apps.size(); ++i) {
    const config::App& app = cfg.apps[i];
    if (app.certificate == "acme") {
      std::vector<std::string> covered;
      std::string err;
      auto ctx = acme_context(app, dynamic, prepared.tickets, covered, err);
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
    std::shared_ptr<SSL_CTX> ctx = prepared.app_contexts.at(i);  // set for every `certificate PATH`
    if (!ctx) continue;
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

bool build_tls_plan(const PreparedConfig& prepared, const DynamicTls& dynamic, TlsPlan& out, std::string& error) {
  const config::Config& cfg = *prepared.config;
  out.fronts.assign(cfg.frontends.size(), nullptr);
  std::string errors;
  std::shared_ptr<const tls::CertificateSet> apps;  // assembled at the first TLS frontend, if any
  for (size_t i = 0; i < cfg.frontends.size(); ++i) {
    const auto& fe = cfg.frontends[i];
    if (!has_tls_bind(fe)) continue;
    if (!apps) apps = app_certificates(prepared, dynamic, errors);
    std::shared_ptr<const tls::CertificateSet> set = apps;
    if (std::shared_ptr<SSL_CTX> ctx = prepared.default_contexts.at(i)) {
      auto with_default = std::make_shared<tls::CertificateSet>(*apps);
      with_default->default_index = static_cast<int>(with_default->contexts.size());
      with_default->contexts.push_back(std::move(ctx));
      set = std::move(with_default);
    }
    std::string err;
    auto front = tls::make_front_ctx({}, &err);
    if (!front || !tls::install(front.get(), prepared.tickets) || !tls::install_sni_selector(front.get(), set)) {
      errors += "frontend " + fe.name + ": cannot set up TLS: " + (err.empty() ? "OpenSSL refused" : err) + "\n";
      continue;
    }
    out.fronts[i] = std::move(front);
  }
  out.upstreams = prepared.upstreams;
  if (!errors.empty()) {
    errors.pop_back();
    error = std::move(errors);
    return false;
  }
  return true;
}

}  // namespace ferry::proxy
