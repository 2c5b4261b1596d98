#include "services/load_config.h"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace ferry::daemon {
namespace {

using Severity = config::Diagnostic::Severity;

// The acme section's `ca-bundle` must be readable and not empty.
void check_ca_bundle(const config::Config& cfg, std::vector<config::Diagnostic>& out) {
  if (!cfg.acme || cfg.acme->ca_bundle.empty()) return;
  std::ifstream in(cfg.acme->ca_bundle);
  std::string why = !in ? std::strerror(errno) : in.peek() == std::ifstream::traits_type::eof() ? "empty file" : "";
  if (why.empty()) return;
  config::Diagnostic d;
  d.severity = Severity::error;
  d.file = cfg.acme->loc.file;
  d.line = cfg.acme->loc.line;
  d.col = cfg.acme->loc.col;
  d.message = "acme: ca-bundle " + cfg.acme->ca_bundle + ": cannot read the file (" + why + ")";
  out.push_back(std::move(d));
}

// The checks after configlang's: the ca-bundle, then `prepare` (the proxy's). A config is
// only returned without errors.
template <typename Prepare>
proxy::Prepared finish(config::LoadResult& result, Prepare prepare) {
  if (!result.config) return {};  // configlang found errors
  check_ca_bundle(*result.config, result.diagnostics);
  proxy::Prepared p = prepare(result.config);
  for (auto& d : p.diagnostics) result.diagnostics.push_back(std::move(d));
  if (result.error_count() > 0) {
    result.config.reset();
    p.ready.reset();
  }
  return p;
}

}  // namespace

LoadedConfig load_config(const std::string& path, proxy::Engine& engine) {
  LoadedConfig loaded;
  static_cast<config::LoadResult&>(loaded) = config::load_file(path);
  loaded.prepared = finish(loaded, [&](auto cfg) { return engine.prepare(std::move(cfg)); }).ready;
  return loaded;
}

config::LoadResult check_config(const std::string& path) {
  config::LoadResult result = config::load_file(path);
  finish(result, [](auto cfg) { return proxy::prepare_config(std::move(cfg)); });
  return result;
}

config::LoadResult load_config_text(std::string_view text, const std::string& name, const config::LoadOptions& opts) {
  config::LoadResult result = config::load_string(text, name, opts);
  proxy::PrepareOptions po;
  po.outputs = opts.untrusted ? proxy::PrepareOptions::OutputFiles::skip : proxy::PrepareOptions::OutputFiles::check;
  finish(result, [&](auto cfg) { return proxy::prepare_config(std::move(cfg), po); });
  return result;
}

}  // namespace ferry::daemon
