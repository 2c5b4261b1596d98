// The daemon's view of a configuration file: configlang's load, then the checks that need the
// file system, as more diagnostics at the directive's position:
//   - the acme section's `ca-bundle` file must be readable (the ACME client reads it later);
//   - the proxy's prepare (ferry/proxy/prepare.h): every `certificate PATH` and
//     `default-certificate PATH` loaded and checked (key match, dates, chain) once per file and
//     made into its TLS context, the hosts of an app with a certificate valid SNI names, every
//     upstream CA file loaded, the access-log file opened.
// Start and reload prepare for the engine and get the result to apply; `ferryd -c` and the
// admin API's validate run the same checks and keep nothing.
// Thread: the caller's control thread (reads files). Never throws (but bad_alloc).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "ferry/configlang/load.h"
#include "ferry/proxy/engine.h"

namespace ferry::daemon {

// A loaded configuration and, when it has no error, the engine's part of it, ready for
// Engine::apply (which then only binds listeners and publishes).
struct LoadedConfig : config::LoadResult {
  std::shared_ptr<const proxy::PreparedConfig> prepared;
};

// Start and reload: `path` prepared for `engine`. Creates the access-log file if missing.
LoadedConfig load_config(const std::string& path, proxy::Engine& engine);

// `ferryd -c`: the same checks on `path`, nothing kept or created.
config::LoadResult check_config(const std::string& path);

// The same checks for a configuration given as text (POST /api/v1/config/validate): `name`
// names it in diagnostics and its directory part resolves relative certificate paths;
// relative includes resolve against `opts.base_dir`, `${VAR}` through `opts.getenv`. Reads only
// the files the text names; with `opts.untrusted`, the access-log path is not probed either.
config::LoadResult load_config_text(std::string_view text, const std::string& name, const config::LoadOptions& opts);

}  // namespace ferry::daemon
