// GET /api/v1/apps/NAME/history?range=15m|1h|6h|24h|48h|7d|30d (docs/API.md): the per-app
// traffic history (History::query), minute rows for ranges up to 48h, hour rows for 7d/30d.
//
// The `/api/v1/apps/*` prefix route belongs to the apps API (app list and detail); its
// handler calls handle_history_request() for paths ending in `/history`.
// Thread: admin server threads; reads ctx.history (thread-safe) and ctx.status.
#pragma once

#include <string>

#include "api/routes.h"

namespace ferry::daemon {

// Answers one history request for `app` (the NAME path segment, already decoded): 200 with
// the points (no `range` parameter = 1h); 400 {"error"} for an unknown or empty `range`; 404 when `app` is not in the
// running configuration; 503 when the history store is not available (ctx.history null).
// Always sends a response; returns true when it was 200.
bool handle_history_request(const ApiContext& ctx, const std::string& app, Poco::Net::HTTPServerRequest& req,
                            Poco::Net::HTTPServerResponse& resp);

}  // namespace ferry::daemon
