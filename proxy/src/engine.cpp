// TEMPORARY stub so the daemon links while the data plane is written. Replaced by the real
// engine (worker loops, listeners) in the next commits.
#include "ferry/proxy/engine.h"

namespace ferry::proxy {

struct Engine::Impl {};
static LogSink g_sink;
void set_log_sink(LogSink sink, config::LogLevel) { g_sink = std::move(sink); }
Engine::Engine() : impl_(std::make_unique<Impl>()) {}
Engine::~Engine() = default;
bool Engine::apply(std::shared_ptr<const config::Config>, std::string& error) { return true; }
std::vector<ListenerInfo> Engine::listeners() const { return {}; }
void Engine::begin_drain() {}
bool Engine::wait_drained(std::chrono::milliseconds) { return true; }
void Engine::stop() {}
size_t Engine::active_connections() const { return 0; }
int Engine::worker_count() const { return 1; }

}  // namespace ferry::proxy
