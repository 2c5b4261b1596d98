// The daemon's view of a configuration file: configlang's load_file, then the capabilities
// of this build. configlang parses the whole language (sections and options of features that
// arrive in later releases); what this ferryd cannot do yet is an error here, with the source
// position, instead of being silently ignored (a `tls` bind would otherwise serve plaintext).
// Used by `ferryd -c`, start and reload alike. Thread: the caller's. Never throws.
#pragma once

#include <string>

#include "ferry/configlang/load.h"

namespace ferry::daemon {

config::LoadResult load_config(const std::string& path);

// Adds an error for each construct this build does not support; clears result.config if any.
void reject_unsupported(config::LoadResult& result);

}  // namespace ferry::daemon
