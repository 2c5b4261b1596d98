// Engine::stats()'s work: sums every per-worker counter of a plan's apps and frontends and
// reads its shared runtime state (budgets, server states) into EngineStats.
// Thread: any; reads relaxed atomics only (never locks, never waits for a worker).
#pragma once

#include <cstdint>

#include "ferry/proxy/stats.h"
#include "plan/plan.h"

namespace ferry::proxy {

// Fills out.apps, out.servers and out.frontends from `plan` (config order); `now` is now_ms()
// (for the ejection deadline). Leaves generation, workers and connections_active alone.
void collect_stats(const Plan& plan, int64_t now, EngineStats& out);

}  // namespace ferry::proxy
