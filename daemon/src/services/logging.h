// ferryd's own logging: one Poco::Logger "ferry" whose channel can be retargeted (stderr or a
// file, `global log TARGET LEVEL`) at reload without racing the threads that log through it.
//
// Thread: init_logging() and configure_logging() on the control thread; logger(), log_lines()
// and the proxy sink from any thread. Nothing here throws into a caller that is logging.
#pragma once

#include <Poco/Logger.h>

#include <string>

#include "ferry/configlang/config.h"

namespace ferry::daemon {

// Points every POCO logger (ours and POCO's own) at the switchable channel, writing to
// stderr at info. Call once, first thing in the process (before any other thread starts).
void init_logging();

// The daemon's logger ("ferry"). Owned by POCO's registry; valid for the process lifetime.
Poco::Logger& logger();

// Retargets the channel: "stderr" or a file path (opened now, appended to; reopened on every
// call, so a reload after logrotate starts a new file), and sets the minimum level. Returns
// false with `error` set when the file cannot be opened; then nothing changed.
bool configure_logging(const std::string& target, config::LogLevel level, std::string& error);

// Installs proxy::set_log_sink forwarding to logger() (thread-safe). `min_level` is handed to
// the proxy so it skips formatting below it.
void install_proxy_sink(config::LogLevel min_level);

int to_poco_priority(config::LogLevel level);

// Logs every non-empty line of `text` (e.g. a formatted diagnostic) as its own message,
// each prefixed with `prefix`.
void log_lines(int priority, const std::string& text, const std::string& prefix = {});

}  // namespace ferry::daemon
