#include "load_config.h"

namespace ferry::daemon {

void reject_unsupported(config::LoadResult& result) {
  if (!result.config) return;
  bool rejected = false;
  for (const auto& fe : result.config->frontends) {
    for (const auto& b : fe.binds) {
      if (!b.tls) continue;
      config::Diagnostic d;
      d.file = b.loc.file;
      d.line = b.loc.line;
      d.col = b.loc.col;
      d.message = "frontend '" + fe.name + "': TLS termination ('bind ... tls') is not supported by this version "
                  "of ferryd yet; remove 'tls' to serve plain HTTP deliberately";
      result.diagnostics.push_back(std::move(d));
      rejected = true;
    }
  }
  if (rejected) result.config.reset();
}

config::LoadResult load_config(const std::string& path) {
  config::LoadResult result = config::load_file(path);
  reject_unsupported(result);
  return result;
}

}  // namespace ferry::daemon
