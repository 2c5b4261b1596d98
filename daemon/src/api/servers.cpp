// GET /api/v1/servers, POST /api/v1/servers/BACKEND/SERVER/drain|enable (Engine::
// set_server_drained). Every action is logged with the user.
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include "api/http_util.h"
#include "api/routes.h"
#include "api/shape.h"

namespace ferry::daemon {

namespace {

bool listed(const std::vector<std::pair<std::string, std::string>>& drained, const std::string& backend,
            const std::string& server) {
  for (const auto& [b, s] : drained)
    if (b == backend && s == server) return true;
  return false;
}

// Writes the server objects of the configuration in force; only (backend, server) when given.
void write_servers(util::JsonWriter& w, const ApiContext& ctx, const config::Config& cfg, const std::string* backend,
                   const std::string* server) {
  proxy::EngineStats stats = ctx.engine->stats();
  api::StatsIndex index(stats);
  auto drained = stats.servers.empty() ? ctx.engine->drained_servers()
                                       : std::vector<std::pair<std::string, std::string>>{};
  for (const config::Backend& be : cfg.backends) {
    if (backend && be.name != *backend) continue;
    for (const config::Server& sv : be.servers) {
      if (server && sv.name != *server) continue;
      api::write_server(w, cfg, be, sv, index.server(be.name, sv.name), listed(drained, be.name, sv.name));
    }
  }
}

}  // namespace

void register_servers_routes(web::AdminServer& server, const ApiContext& ctx) {
  server.add_route("GET", "/api/v1/servers", web::Access::user,
                   [ctx](const web::RequestContext&, Poco::Net::HTTPServerRequest&,
                         Poco::Net::HTTPServerResponse& resp) {
                     auto cfg = ctx.status->get().config;
                     util::JsonWriter w;
                     w.begin_array();
                     if (cfg) write_servers(w, ctx, *cfg, nullptr, nullptr);
                     w.end_array();
                     api::send_json(resp, 200, w.str());
                   });
  server.add_route("POST", "/api/v1/servers/*", web::Access::user,
                   [ctx](const web::RequestContext& rc, Poco::Net::HTTPServerRequest& req,
                         Poco::Net::HTTPServerResponse& resp) {
                     auto seg = api::path_segments(req.getURI(), "/api/v1/servers/");
                     if (seg.size() != 3 || (seg[2] != "drain" && seg[2] != "enable"))
                       return api::send_error(resp, 404, "not found");
                     const bool drain = seg[2] == "drain";
                     const std::string what = seg[2] + " backend=" + seg[0] + " server=" + seg[1];
                     if (!ctx.engine->set_server_drained(seg[0], seg[1], drain)) {
                       api::log_action(rc, what, "not-found");
                       return api::send_error(resp, 404, "no such server: " + seg[0] + "/" + seg[1]);
                     }
                     api::log_action(rc, what, "ok");
                     auto cfg = ctx.status->get().config;
                     util::JsonWriter w;
                     if (cfg) write_servers(w, ctx, *cfg, &seg[0], &seg[1]);
                     // The engine knew the server but the snapshot here is one reload behind.
                     if (w.str().empty()) w.begin_object().field("backend", seg[0]).field("name", seg[1]).field("drained", drain).end_object();
                     api::send_json(resp, 200, w.str());
                   });
}

}  // namespace ferry::daemon
