#include "load_config.h"

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

// Every `certificate PATH` is loaded and checked now, so a bad file fails `ferryd -c` (and a
// reload keeps the running configuration) instead of failing handshakes later.
bool check_certificates(const config::Config& cfg, std::vector<config::Diagnostic>& out) {
  bool failed = false;
  for (const auto& app : cfg.apps) {
    if (app.certificate.empty() || app.certificate == "acme") continue;
    auto check = proxy::check_certificate_file(app.certificate);
    for (auto& e : check.errors) out.push_back(at(app.certificate_loc, Severity::error, "app '" + app.name + "': " + e));
    for (auto& w : check.warnings)
      out.push_back(at(app.certificate_loc, Severity::warning, "app '" + app.name + "': " + w));
    failed = failed || !check.errors.empty();
  }
  return failed;
}

// Constructs configlang parses but this build cannot serve yet.
bool reject_unsupported(const config::Config& cfg, std::vector<config::Diagnostic>& out) {
  bool rejected = false;
  for (const auto& fe : cfg.frontends) {
    for (const auto& b : fe.binds) {
      if (!b.tls) continue;
      out.push_back(at(b.loc, Severity::error,
                       "frontend '" + fe.name + "': TLS termination ('bind ... tls') is not supported by this "
                       "version of ferryd yet; remove 'tls' to serve plain HTTP deliberately"));
      rejected = true;
    }
  }
  return rejected;
}

}  // namespace

config::LoadResult load_config(const std::string& path) {
  config::LoadResult result = config::load_file(path);
  if (!result.config) return result;
  bool bad = check_certificates(*result.config, result.diagnostics);
  bad = reject_unsupported(*result.config, result.diagnostics) || bad;
  if (bad) result.config.reset();
  return result;
}

}  // namespace ferry::daemon
