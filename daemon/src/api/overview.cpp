// GET /api/v1/overview: the node, the process, the configuration in force, the last reload,
// traffic totals (EngineStats summed over apps) and the busiest apps (History rates).
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <unistd.h>

#include <algorithm>

#include "api/http_util.h"
#include "api/routes.h"
#include "api/shape.h"
#include "history/history.h"

namespace ferry::daemon {

namespace {

constexpr size_t kTopApps = 5;

std::string overview_json(const ApiContext& ctx) {
  DaemonSnapshot s = ctx.status->get();
  proxy::EngineStats stats = ctx.engine->stats();
  std::map<std::string, double> rates;
  if (ctx.history) rates = ctx.history->rates();
  const int64_t now = api::unix_seconds(std::chrono::system_clock::now());
  const int64_t started = api::unix_seconds(s.started_at);

  util::JsonWriter w;
  w.begin_object();
  w.field("node", s.config ? s.config->global.node : std::string());
  w.field("region", s.config ? s.config->global.region : std::string());
  w.field("version", FERRY_VERSION).field("pid", static_cast<int64_t>(::getpid()));
  w.field("started_at", started).field("uptime_s", started ? std::max<int64_t>(0, now - started) : 0);
  w.field("config_path", s.config_path).field("config_loaded_at", api::unix_seconds(s.loaded_at));
  w.field("generation", s.generation);
  w.field("workers", stats.workers ? stats.workers : ctx.engine->worker_count());
  w.key("reload").begin_object();
  w.field("attempts", s.reload.attempts).field("failures", s.reload.failures);
  w.field("last_ok", s.reload.last_ok).field("last_error", s.reload.last_error);
  w.field("last_at", api::unix_seconds(s.reload.last_at));
  w.end_object();
  w.field("connections_active", static_cast<uint64_t>(ctx.engine->active_connections()));

  uint64_t requests = 0, bytes_in = 0, bytes_out = 0, errors_5xx = 0;
  for (const proxy::AppStats& a : stats.apps) {
    requests += api::total_requests(a);
    bytes_in += a.bytes_in;
    bytes_out += a.bytes_out;
    errors_5xx += api::class_requests(a, 5);
  }
  double rps = 0;
  for (const auto& [app, r] : rates) rps += r;
  w.key("totals").begin_object();
  w.field("requests", requests).field("rps", rps).field("bytes_in", bytes_in).field("bytes_out", bytes_out);
  w.field("errors_5xx", errors_5xx);
  w.end_object();

  // Apps with traffic, busiest first (ties by name), at most kTopApps.
  std::vector<std::pair<std::string, double>> top;
  for (const auto& [app, r] : rates)
    if (r > 0 && s.config && s.config->app_index.count(app)) top.emplace_back(app, r);
  std::sort(top.begin(), top.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (top.size() > kTopApps) top.resize(kTopApps);
  w.key("top_apps").begin_array();
  for (const auto& [app, r] : top) w.begin_object().field("name", app).field("rps", r).end_object();
  w.end_array();
  w.end_object();
  return w.take();
}

}  // namespace

void register_overview_routes(web::AdminServer& server, const ApiContext& ctx) {
  server.add_route("GET", "/api/v1/overview", web::Access::user,
                   [ctx](const web::RequestContext&, Poco::Net::HTTPServerRequest&,
                         Poco::Net::HTTPServerResponse& resp) { api::send_json(resp, 200, overview_json(ctx)); });
}

}  // namespace ferry::daemon
