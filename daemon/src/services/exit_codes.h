// Process exit codes of ferryd (documented in --help and the man page).
#pragma once

namespace ferry::daemon {

constexpr int kExitOk = 0;
constexpr int kExitConfigInvalid = 1;  // the configuration has errors (start or -c)
constexpr int kExitUsage = 2;          // bad command line
constexpr int kExitStartup = 3;        // start-up failed: bind, log file, pidfile, exception

}  // namespace ferry::daemon
