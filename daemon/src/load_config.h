// The daemon's view of a configuration file: configlang's load_file, then what needs the
// file system or this build's capabilities, as more diagnostics at the directive's position:
//   - every `certificate PATH` and `default-certificate PATH` is loaded and checked (key match,
//     dates, chain), once per file, and the hosts of an app with a certificate must be valid
//     SNI names;
//   - the acme section's `ca-bundle` file must be readable.
// Used by `ferryd -c`, start and reload alike. Thread: the caller's (reads files). Never throws.
#pragma once

#include <string>

#include "ferry/configlang/load.h"

namespace ferry::daemon {

config::LoadResult load_config(const std::string& path);

}  // namespace ferry::daemon
