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

// One certificate file, checked now so that a bad file fails `ferryd -c` (and a reload keeps
// the running configuration) instead of failing handshakes later.
bool check_file(const std::string& path, const config::SourceLoc& loc, const std::string& who,
                std::vector<config::Diagnostic>& out) {
  auto check = proxy::check_certificate_file(path);
  for (auto& e : check.errors) out.push_back(at(loc, Severity::error, who + ": " + e));
  for (auto& w : check.warnings) out.push_back(at(loc, Severity::warning, who + ": " + w));
  return !check.errors.empty();
}

// Every `certificate PATH` and `default-certificate PATH`.
bool check_certificates(const config::Config& cfg, std::vector<config::Diagnostic>& out) {
  bool failed = false;
  for (const auto& app : cfg.apps) {
    if (app.certificate.empty() || app.certificate == "acme") continue;
    failed = check_file(app.certificate, app.certificate_loc, "app '" + app.name + "'", out) || failed;
  }
  for (const auto& fe : cfg.frontends) {
    if (fe.default_certificate.empty()) continue;
    failed = check_file(fe.default_certificate, fe.default_certificate_loc, "frontend '" + fe.name + "'", out) || failed;
  }
  return failed;
}

// Constructs configlang parses but this build cannot serve yet.
bool reject_unsupported(const config::Config& cfg, std::vector<config::Diagnostic>& out) {
  bool rejected = false;
  for (const auto& app : cfg.apps) {
    if (app.certificate != "acme") continue;
    out.push_back(at(app.certificate_loc, Severity::error,
                     "app '" + app.name + "': automatic certificates ('certificate acme') are not supported by "
                     "this version of ferryd yet; use 'certificate PATH' with a PEM file"));
    rejected = true;
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
