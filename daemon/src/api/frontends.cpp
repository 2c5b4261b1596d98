// GET /api/v1/frontends: every frontend of the configuration in force (the mesh's
// "(backhaul)" included) with its binds as bound and its connection / TLS counters.
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include "api/http_util.h"
#include "api/routes.h"
#include "api/shape.h"

namespace ferry::daemon {

void register_frontends_routes(web::AdminServer& server, const ApiContext& ctx) {
  server.add_route("GET", "/api/v1/frontends", web::Access::user,
                   [ctx](const web::RequestContext&, Poco::Net::HTTPServerRequest&,
                         Poco::Net::HTTPServerResponse& resp) {
                     DaemonSnapshot snap = ctx.status->get();
                     proxy::EngineStats stats = ctx.engine->stats();
                     util::JsonWriter w;
                     w.begin_array();
                     if (snap.config)
                       for (const config::Frontend& fe : snap.config->frontends) {
                         std::vector<std::string> bound;
                         for (const auto& [name, addr] : snap.listeners)
                           if (name == fe.name) bound.push_back(addr);
                         api::write_frontend(w, fe, api::find_frontend(stats, fe.name), api::match_listeners(fe, bound));
                       }
                     w.end_array();
                     api::send_json(resp, 200, w.str());
                   });
}

}  // namespace ferry::daemon
