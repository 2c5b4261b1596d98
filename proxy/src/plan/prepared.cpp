// prepare(): every file the data plane needs, read and checked once, turned into what the
// engine installs; problems as diagnostics at their directive. See prepared.h, prepare.h.
#include "plan/prepared.h"

#include <map>
#include <string>
#include <utility>

#include "observe/access_log.h"
#include "plan/tls_plan.h"
#include "tls/certificate.h"
#include "tls/client_context.h"
#include "tls/server_context.h"
#include "tls/sni_map.h"

namespace ferry::proxy {

bool Prepared::ok() const {
  for (const auto& d : diagnostics)
    if (d.severity == config::Diagnostic::Severity::error) return false;
  return true;
}

namespace {

using Severity = config::Diagnostic::Severity;

void report(std::vector<config::Diagnostic>& out, const config::SourceLoc& loc, Severity sev, std::string message) {
  config::Diagnostic d;
  d.severity = sev;
  d.file = loc.file;
  d.line = loc.line;
  d.col = loc.col;
  d.message = std::move(message);
  out.push_back(std::move(d));
}

int min_version(const config::App& app) {
  return app.tls_min == config::TlsVersion::v1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
}

// Certificate files: each read and checked once however many directives name it, its
// problems reported at every one of them; a server context once per (file, minimum version).
class CertificateFiles {
 public:
  CertificateFiles(std::shared_ptr<tls::TicketKeyRing> tickets, std::vector<config::Diagnostic>& out)
      : tickets_(std::move(tickets)), out_(out) {}

  // Loads `path` the first time; reports its errors and warnings at `loc`, prefixed with
  // `who`. True when the file can be served.
  bool load(const std::string& path, const config::SourceLoc& loc, const std::string& who) {
    auto it = loaded_.find(path);
    if (it == loaded_.end()) it = loaded_.emplace(path, tls::load_certificate_file(path)).first;
    for (const auto& e : it->second.errors) report(out_, loc, Severity::error, who + ": " + e);
    for (const auto& w : it->second.warnings) report(out_, loc, Severity::warning, who + ": " + w);
    return it->second.ok();
  }

  // The server context of a loaded `path`, serving at least `min_version`; null with `error`
  // when OpenSSL refuses the material.
  std::shared_ptr<SSL_CTX> context(const std::string& path, int min_version, std::string& error) {
    auto key = std::make_pair(path, min_version);
    auto it = contexts_.find(key);
    if (it == contexts_.end()) {
      Built b;
      tls::TlsOptions opt;
      opt.min_version = min_version;
      opt.alpn = served_alpn();
      b.ctx = tls::make_server_ctx(*loaded_.at(path).material, opt, &b.error);
      if (b.ctx && tickets_ && !tls::install(b.ctx.get(), tickets_)) {
        b.ctx = nullptr;
        b.error = path + ": cannot install session ticket keys";
      }
      it = contexts_.emplace(key, std::move(b)).first;
    }
    error = it->second.error;
    return it->second.ctx;
  }

 private:
  struct Built {
    std::shared_ptr<SSL_CTX> ctx;
    std::string error;
  };
  std::shared_ptr<tls::TicketKeyRing> tickets_;
  std::vector<config::Diagnostic>& out_;
  std::map<std::string, tls::LoadResult> loaded_;
  std::map<std::pair<std::string, int>, Built> contexts_;
};

bool any_tls_bind(const config::Config& cfg) {
  for (const auto& fe : cfg.frontends)
    if (has_tls_bind(fe)) return true;
  return false;
}

// Every app's `certificate PATH` (its context when a frontend serves TLS) and, for any
// certificate, its hosts as SNI names (the SNI table is stricter than routing, e.g. no '_').
void prepare_apps(const config::Config& cfg, CertificateFiles& files, std::vector<config::Diagnostic>& out,
                  PreparedConfig& p) {
  const bool serve = any_tls_bind(cfg);
  p.app_contexts.assign(cfg.apps.size(), nullptr);
  for (size_t i = 0; i < cfg.apps.size(); ++i) {
    const config::App& app = cfg.apps[i];
    if (app.certificate.empty()) continue;
    const std::string who = "app '" + app.name + "'";
    if (app.certificate != "acme" && files.load(app.certificate, app.certificate_loc, who) && serve) {
      std::string error;
      p.app_contexts[i] = files.context(app.certificate, min_version(app), error);
      if (!p.app_contexts[i]) report(out, app.certificate_loc, Severity::error, who + ": " + error);
    }
    for (const auto& host : app.hosts)
      if (std::string why = tls::SniMap::validate(host); !why.empty())
        report(out, app.certificate_loc, Severity::error,
               who + ": host '" + host + "' cannot select a TLS certificate: " + why);
  }
}

// Every frontend's `default-certificate` (its context when the frontend has a `tls` bind).
void prepare_defaults(const config::Config& cfg, CertificateFiles& files, std::vector<config::Diagnostic>& out,
                      PreparedConfig& p) {
  p.default_contexts.assign(cfg.frontends.size(), nullptr);
  for (size_t i = 0; i < cfg.frontends.size(); ++i) {
    const config::Frontend& fe = cfg.frontends[i];
    if (fe.default_certificate.empty()) continue;
    const std::string who = "frontend '" + fe.name + "'";
    if (!files.load(fe.default_certificate, fe.default_certificate_loc, who) || !has_tls_bind(fe)) continue;
    std::string error;
    p.default_contexts[i] = files.context(fe.default_certificate, TLS1_2_VERSION, error);
    if (!p.default_contexts[i]) report(out, fe.default_certificate_loc, Severity::error, who + ": " + error);
  }
}

// The client context of every `proto h2` server, one per (ca-file, verify): servers naming
// the same CA file share one load. A `ca-file` must load even with `verify off`.
void prepare_upstreams(const config::Config& cfg, std::vector<config::Diagnostic>& out, PreparedConfig& p) {
  struct Built {
    std::shared_ptr<SSL_CTX> ctx;
    std::string error;
  };
  std::map<std::pair<std::string, bool>, Built> built;
  auto client = [&](const std::string& ca_file, bool verify) -> const Built& {
    auto it = built.find({ca_file, verify});
    if (it != built.end()) return it->second;
    Built b;
    b.ctx = tls::make_client_ctx(ca_file, verify, &b.error);
    return built.emplace(std::make_pair(ca_file, verify), std::move(b)).first->second;
  };
  p.upstreams.assign(cfg.backends.size(), {});
  for (size_t b = 0; b < cfg.backends.size(); ++b) {
    const config::Backend& be = cfg.backends[b];
    p.upstreams[b].assign(be.servers.size(), nullptr);
    for (size_t s = 0; s < be.servers.size(); ++s) {
      const config::Server& sv = be.servers[s];
      if (sv.proto != config::UpstreamProto::h2) continue;
      const Built* c = &client(sv.ca_file, sv.verify);
      if (c->ctx && !sv.verify && !sv.ca_file.empty()) {
        const Built& checked = client(sv.ca_file, true);
        if (!checked.ctx) c = &checked;
      }
      if (c->ctx) p.upstreams[b][s] = c->ctx;
      else report(out, sv.loc, Severity::error, "backend '" + be.name + "', server '" + sv.name + "': " + c->error);
    }
  }
}

// `access-log PATH`: opened (kept), checked, or left alone, per `outputs`.
void prepare_access_log(const config::Global& g, PrepareOptions::OutputFiles outputs,
                        std::vector<config::Diagnostic>& out, PreparedConfig& p) {
  using Outputs = PrepareOptions::OutputFiles;
  if (g.access_log_format == config::AccessLogFormat::off || g.access_log_target == "stderr") return;
  std::string error;
  if (outputs == Outputs::open) p.access_log = open_access_log(g.access_log_target, error);
  else if (outputs == Outputs::check) check_access_log(g.access_log_target, error);
  if (!error.empty()) report(out, g.access_log_loc, Severity::error, error);
}

}  // namespace

Prepared prepare(std::shared_ptr<const config::Config> cfg, std::shared_ptr<tls::TicketKeyRing> tickets,
                 PrepareOptions::OutputFiles outputs) {
  Prepared result;
  PreparedConfig p;
  CertificateFiles files(tickets, result.diagnostics);
  prepare_apps(*cfg, files, result.diagnostics, p);
  prepare_defaults(*cfg, files, result.diagnostics, p);
  prepare_upstreams(*cfg, result.diagnostics, p);
  prepare_access_log(cfg->global, outputs, result.diagnostics, p);
  if (!tickets || !result.ok()) return result;
  p.config = std::move(cfg);
  p.tickets = std::move(tickets);
  result.ready = std::make_shared<const PreparedConfig>(std::move(p));
  return result;
}

Prepared prepare_config(std::shared_ptr<const config::Config> cfg, PrepareOptions opts) {
  if (opts.outputs == PrepareOptions::OutputFiles::open) opts.outputs = PrepareOptions::OutputFiles::check;
  return prepare(std::move(cfg), nullptr, opts.outputs);
}

}  // namespace ferry::proxy
