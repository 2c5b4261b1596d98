// `ferryd -c`: load and validate the configuration, print the diagnostics, report the result.
// Thread: main thread. Never throws.
#pragma once

#include <ostream>
#include <string>

#include "ferry/configlang/load.h"

namespace ferry::daemon {

// Prints every diagnostic (configlang's "file:line:col: error: ..." format with caret).
void print_diagnostics(std::ostream& out, const config::LoadResult& result);

// "N errors, M warnings"
std::string count_summary(const config::LoadResult& result);

// Checks beyond the language that `ferryd -c` makes after check_config(): files the
// configuration names that must be usable at run time (admin-tls files, the mesh private key). Adds an error
// and drops result.config when one is not.
void check_runtime_files(config::LoadResult& result);

// Loads `path`; prints diagnostics to stderr, then "Configuration file is valid" (stdout)
// and returns kExitOk, or "N errors, M warnings" (stderr) and returns kExitConfigInvalid.
int run_check(const std::string& path);

}  // namespace ferry::daemon
