#include "load_config.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>

#include "ferry/proxy/certificates.h"

namespace ferry::daemon {
namespace {

using Severity = config::Diagnostic::Severity;

config::Diagnostic at(const config::SourceLoc& loc, Severity sev, std::string message) {
  config::Diagnostic d;
  d.severity = sev;
  d.file = loc.file;
  d.line = loc.line;
  d.col = loc.col;
  d.message = std::move(message);
  return d;
}

// One certificate file, checked now so that a bad file fails `ferryd -c` (and a reload keeps
// the running configuration) instead of failing handshakes later. A file named several times
// is read once (`seen`), and reported at each directive.
void check_file(const std::string& path, const config::SourceLoc& loc, const std::string& who,
                std::map<std::string, proxy::CertificateCheck>& seen, std::vector<config::Diagnostic>& out) {
  auto it = seen.find(path);
  if (it == seen.end()) it = seen.emplace(path, proxy::check_certificate_file(path)).first;
  for (auto& e : it->second.errors) out.push_back(at(loc, Severity::error, who + ": " + e));
  for (auto& w : it->second.warnings) out.push_back(at(loc, Severity::warning, who + ": " + w));
}

// Every `certificate PATH` and `default-certificate PATH`, and every server's `ca-file`; the
// acme section's `ca-bundle` must be readable. (`certificate acme` itself is checked by configlang.)
void check_certificates(const config::Config& cfg, std::vector<config::Diagnostic>& out) {
  std::map<std::string, proxy::CertificateCheck> seen;
  if (cfg.acme && !cfg.acme->ca_bundle.empty()) {
    std::ifstream in(cfg.acme->ca_bundle);
    std::string why = !in ? std::strerror(errno) : in.peek() == std::ifstream::traits_type::eof() ? "empty file" : "";
    if (!why.empty())
      out.push_back(at(cfg.acme->loc, Severity::error, "acme: ca-bundle " + cfg.acme->ca_bundle +
                                                           ": cannot read the file (" + why + ")"));
  }
  for (const auto& app : cfg.apps) {
    if (!app.certificate.empty() && app.certificate != "acme")
      check_file(app.certificate, app.certificate_loc, "app '" + app.name + "'", seen, out);
    if (app.certificate.empty()) continue;
    for (const auto& host : app.hosts)
      if (std::string why = proxy::check_server_name(host); !why.empty())
        out.push_back(at(app.certificate_loc, Severity::error,
                         "app '" + app.name + "': host '" + host + "' cannot select a TLS certificate: " + why));
  }
  for (const auto& fe : cfg.frontends)
    if (!fe.default_certificate.empty())
      check_file(fe.default_certificate, fe.default_certificate_loc, "frontend '" + fe.name + "'", seen, out);
  for (const auto& be : cfg.backends)
    for (const auto& sv : be.servers)
      if (sv.proto == config::UpstreamProto::h2 && !sv.ca_file.empty())
        if (std::string why = proxy::check_ca_file(sv.ca_file); !why.empty())
          out.push_back(at(sv.loc, Severity::error, "backend '" + be.name + "', server '" + sv.name + "': " + why));
}

}  // namespace

config::LoadResult load_config(const std::string& path) {
  config::LoadResult result = config::load_file(path);
  if (!result.config) return result;  // a config is only returned without errors
  check_certificates(*result.config, result.diagnostics);
  if (result.error_count() > 0) result.config.reset();
  return result;
}

config::LoadResult load_config_text(std::string_view text, const std::string& name, const config::LoadOptions& opts) {
  config::LoadResult result = config::load_string(text, name, opts);
  if (!result.config) return result;
  check_certificates(*result.config, result.diagnostics);
  if (result.error_count() > 0) result.config.reset();
  return result;
}

}  // namespace ferry::daemon
