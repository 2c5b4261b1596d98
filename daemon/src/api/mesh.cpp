// GET /api/v1/mesh: the WireGuard interface, its peers, the anycast addresses (MeshManager)
// and the data plane's view of each backhaul peer (Engine::mesh_peers).
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include "api/routes.h"
#include "services/mesh_manager.h"

namespace ferry::daemon {

void register_mesh_routes(web::AdminServer& server, const ApiContext& ctx) {
  if (!ctx.mesh) return;
  server.add_route("GET", "/api/v1/mesh", web::Access::user,
                   [cell = ctx.mesh->status_cell(), engine = ctx.engine](
                       const web::RequestContext&, Poco::Net::HTTPServerRequest&,
                       Poco::Net::HTTPServerResponse& resp) {
                     std::vector<mesh::BackhaulPeerStatus> bh;
                     for (const auto& p : engine->mesh_peers())
                       bh.push_back({p.name, p.region, p.backhaul, p.rtt_us, p.rtt_fixed, p.reachable,
                                     p.last_answer_age_ms, p.last_report_age_ms, p.pings, p.ping_failures});
                     std::string body = mesh::to_json(cell->get(), bh) + "\n";
                     resp.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
                     resp.setContentType("application/json");
                     resp.sendBuffer(body.data(), body.size());
                   });
}

}  // namespace ferry::daemon
