// Internal logging for the proxy module: forwards to the sink the daemon installs with
// ferry::proxy::set_log_sink() (engine.h). Any thread. Cheap when the level is filtered out.
#pragma once

#include <string>

#include "ferry/configlang/config.h"

namespace ferry::proxy {

bool log_enabled(config::LogLevel level);
void log(config::LogLevel level, const std::string& message);

}  // namespace ferry::proxy
