// GET /api/v1/apps/NAME/history?range=15m|1h|6h|24h|48h|7d|30d (docs/API.md): an app's minute
// rows (ranges up to 48h) or hour rows (7d, 30d) from the History store. Called by the apps
// route (api/apps.cpp, `GET /api/v1/apps/*`) for paths ending in /history.
// Thread: admin server threads; reads ctx.history (thread-safe) and ctx.status.
#pragma once

#include <string>

#include "api/routes.h"

namespace Poco::Net {
class HTTPServerRequest;
class HTTPServerResponse;
}  // namespace Poco::Net

namespace ferry::daemon {

// `app` exists in the configuration in force (the caller answered 404 otherwise; checked
// again here, 404). 200 with the points (no `range` parameter = 1h); 400 {"error"} for an
// unknown or empty `range`; 503 when the history store is not available (ctx.history null).
void handle_history_request(const ApiContext& ctx, const std::string& app, Poco::Net::HTTPServerRequest& req,
                            Poco::Net::HTTPServerResponse& resp);

}  // namespace ferry::daemon
