// GET /api/v1/apps/NAME/history?range=...: an app's minute or hour rows from the History store
// (docs/API.md). Called by the apps route (api/apps.cpp) for paths ending in /history.
// Thread: admin server threads. `ctx.history` may be null (store not open): then 503.
#pragma once

#include <string>

#include "api/routes.h"

namespace Poco::Net {
class HTTPServerRequest;
class HTTPServerResponse;
}  // namespace Poco::Net

namespace ferry::daemon {

// `app` exists in the configuration in force (the caller answered 404 otherwise).
void handle_history_request(const ApiContext& ctx, const std::string& app, Poco::Net::HTTPServerRequest& req,
                            Poco::Net::HTTPServerResponse& resp);

}  // namespace ferry::daemon
