#include "api/routes.h"

namespace ferry::daemon {

void register_api_routes(web::AdminServer& server, const ApiContext& ctx) {
  register_mesh_routes(server, ctx);
  register_history_routes(server, ctx);
}

}  // namespace ferry::daemon
