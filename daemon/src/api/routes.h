// The admin API's routes (/api/v1/..., /metrics), registered on a fresh AdminServer each time
// the daemon starts one. Each area has its own file in api/ with its own register_*().
//
// Ownership: ApiContext borrows objects the Daemon owns and keeps alive while any AdminServer
// runs (the Daemon stops the admin server before destroying them). Thread: handlers run on
// the admin server's threads; everything they touch is thread-safe (Engine::stats and
// friends, DaemonStatus, the managers' status cells).
#pragma once

#include <memory>

#include "api/daemon_status.h"
#include "ferry/proxy/engine.h"
#include "ferry/web/admin_server.h"

namespace ferry::daemon {

class AcmeManager;
class MeshManager;
class History;
class TraceExporter;
namespace catalog {
class Catalog;
}

struct ApiContext {
  proxy::Engine* engine = nullptr;          // never null
  AcmeManager* acme = nullptr;              // never null
  MeshManager* mesh = nullptr;              // null when not started
  std::shared_ptr<DaemonStatus> status;     // never null
  History* history = nullptr;               // null when the history store could not open
  TraceExporter* tracing = nullptr;         // never null in ferryd (idle without `tracing`)
  catalog::Catalog* catalog = nullptr;      // never null in ferryd
};

// Registers every API route on `server` (before its start()).
void register_api_routes(web::AdminServer& server, const ApiContext& ctx);

// One area each (api/<area>.cpp).
void register_mesh_routes(web::AdminServer& server, const ApiContext& ctx);
void register_overview_routes(web::AdminServer& server, const ApiContext& ctx);      // overview.cpp
void register_apps_routes(web::AdminServer& server, const ApiContext& ctx);          // apps.cpp
void register_servers_routes(web::AdminServer& server, const ApiContext& ctx);       // servers.cpp
void register_frontends_routes(web::AdminServer& server, const ApiContext& ctx);     // frontends.cpp
void register_certificates_routes(web::AdminServer& server, const ApiContext& ctx);  // certificates.cpp
void register_config_routes(web::AdminServer& server, const ApiContext& ctx);        // config.cpp
void register_instances_routes(web::AdminServer& server, const ApiContext& ctx);     // instances.cpp
// GET /metrics (api/metrics.cpp): Prometheus text format; families in docs/METRICS.md.
void register_metrics_routes(web::AdminServer& server, const ApiContext& ctx);

}  // namespace ferry::daemon
