#include "api/routes.h"

namespace ferry::daemon {

void register_api_routes(web::AdminServer& server, const ApiContext& ctx) {
  register_overview_routes(server, ctx);
  register_apps_routes(server, ctx);
  register_servers_routes(server, ctx);
  register_frontends_routes(server, ctx);
  register_certificates_routes(server, ctx);
  register_config_routes(server, ctx);
  register_mesh_routes(server, ctx);
  register_instances_routes(server, ctx);
  register_metrics_routes(server, ctx);
}

}  // namespace ferry::daemon
