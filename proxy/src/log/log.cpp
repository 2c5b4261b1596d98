// Log sink plumbing: the daemon installs a thread-safe sink; the proxy calls log().
#include "log/log.h"

#include <atomic>
#include <memory>

#include "ferry/proxy/engine.h"

namespace ferry::proxy {
namespace {
// Replaced by set_log_sink (control thread, e.g. on reload); read from any thread.
std::atomic<std::shared_ptr<const LogSink>> g_sink;
std::atomic<int> g_min_level{static_cast<int>(config::LogLevel::info)};
}  // namespace

void set_log_sink(LogSink sink, config::LogLevel min_level) {
  g_sink.store(std::make_shared<const LogSink>(std::move(sink)));
  g_min_level.store(static_cast<int>(min_level), std::memory_order_relaxed);
}

bool log_enabled(config::LogLevel level) {
  return static_cast<int>(level) >= g_min_level.load(std::memory_order_relaxed);
}

void log(config::LogLevel level, const std::string& message) {
  if (!log_enabled(level)) return;
  auto sink = g_sink.load();
  if (sink && *sink) (*sink)(level, message);
}

}  // namespace ferry::proxy
