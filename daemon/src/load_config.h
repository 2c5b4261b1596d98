// The daemon's view of a configuration file: configlang's load_file, then what needs the
// file system or this build's capabilities, as more diagnostics at the directive's position:
//   - every `certificate PATH` and `default-certificate PATH` is loaded and checked (key match,
//     dates, chain), once per file, and the hosts of an app with a certificate must be valid
//     SNI names;
//   - the acme section's `ca-bundle` file must be readable.
// Used by `ferryd -c`, start and reload alike. Thread: the caller's (reads files). Never throws.
#pragma once

#include <string>
#include <string_view>

#include "ferry/configlang/load.h"

namespace ferry::daemon {

config::LoadResult load_config(const std::string& path);

// The same checks for a configuration given as text (POST /api/v1/config/validate): `name`
// names it in diagnostics and its directory part resolves relative certificate paths;
// relative includes resolve against `opts.base_dir`, `${VAR}` through `opts.getenv`. Reads only
// the files the text names.
config::LoadResult load_config_text(std::string_view text, const std::string& name, const config::LoadOptions& opts);

}  // namespace ferry::daemon
