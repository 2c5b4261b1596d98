// GET /api/v1/apps, GET /api/v1/apps/NAME and GET /api/v1/apps/NAME/history (the last one
// handed to api/history.h). Apps come from the configuration in force, their figures from
// Engine::stats() and the History (rates, spark; none when ctx.history is null).
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include "api/cert_status.h"
#include "api/history.h"
#include "api/http_util.h"
#include "api/routes.h"
#include "api/shape.h"
#include "history/history.h"

namespace ferry::daemon {

namespace {

constexpr int kSparkMinutes = 30;
constexpr size_t kSlowRequests = 20;  // slow requests in an app's detail (newest first)

double rate_of(const std::map<std::string, double>& rates, const std::string& app) {
  auto it = rates.find(app);
  return it == rates.end() ? 0.0 : it->second;
}

bool is_drained(const std::vector<std::pair<std::string, std::string>>& drained, const std::string& backend,
                const std::string& server) {
  for (const auto& [b, s] : drained)
    if (b == backend && s == server) return true;
  return false;
}

void list_apps(const ApiContext& ctx, Poco::Net::HTTPServerResponse& resp) {
  auto cfg = ctx.status->get().config;
  proxy::EngineStats stats = ctx.engine->stats();
  api::StatsIndex index(stats);
  std::map<std::string, double> rates;
  if (ctx.history) rates = ctx.history->rates();
  util::JsonWriter w;
  w.begin_array();
  if (cfg)
    for (const config::App& app : cfg->apps) {
      std::vector<uint64_t> spark;
      if (ctx.history) spark = ctx.history->spark(app.name, kSparkMinutes);
      w.begin_object();
      api::write_app_members(w, *cfg, app, index.app(app.name), rate_of(rates, app.name), spark);
      w.end_object();
    }
  w.end_array();
  api::send_json(resp, 200, w.str());
}

void app_detail(const ApiContext& ctx, const config::Config& cfg, const config::App& app,
                Poco::Net::HTTPServerResponse& resp) {
  proxy::EngineStats stats = ctx.engine->stats();
  const proxy::AppStats* st = api::find_app(stats, app.name);
  double rps = 0;
  std::vector<uint64_t> spark;
  if (ctx.history) {
    rps = rate_of(ctx.history->rates(), app.name);
    spark = ctx.history->spark(app.name, kSparkMinutes);
  }
  util::JsonWriter w;
  w.begin_object();
  api::write_app_members(w, cfg, app, st, rps, spark);

  CertStatus cert;
  cert.source = "none";
  cert.state = "none";
  if (!app.certificate.empty())
    for (CertStatus& c : certificate_status(ctx))
      if (c.app == app.name && c.frontend.empty()) cert = std::move(c);
  w.key("certificate").begin_object();
  w.field("source", cert.source).field_strings("hosts", cert.hosts).field("not_after", cert.not_after);
  w.field("issuer", cert.issuer).field("state", cert.state).field("last_error", cert.last_error);
  w.end_object();

  w.key("instances").begin_array();
  if (app.backend >= 0 && static_cast<size_t>(app.backend) < cfg.backends.size()) {
    const config::Backend& be = cfg.backends[static_cast<size_t>(app.backend)];
    auto drained = stats.servers.empty() ? ctx.engine->drained_servers()
                                         : std::vector<std::pair<std::string, std::string>>{};
    for (const config::Server& sv : be.servers)
      api::write_server(w, cfg, be, sv, api::find_server(stats, be.name, sv.name), is_drained(drained, be.name, sv.name));
  }
  w.end_array();
  w.field("bytes_in", st ? st->bytes_in : uint64_t{0}).field("bytes_out", st ? st->bytes_out : uint64_t{0});
  w.key("latency_ms").begin_object();
  w.field("p50", st ? api::quantile_ms(st->duration, 0.5) : 0.0);
  w.field("p99", st ? api::quantile_ms(st->duration, 0.99) : 0.0);
  w.end_object();
  // Tracing: the newest slow requests and where their traces are (the console links them).
  w.field("trace_url", cfg.tracing ? std::string_view(cfg.tracing->ui_url) : std::string_view());
  w.key("slow_requests").begin_array();
  for (const proxy::SlowRequest& r : ctx.engine->slow_requests(app.name, kSlowRequests)) {
    w.begin_object();
    w.field("unix_ms", r.unix_ms).field("method", r.method).field("path", r.path).field("status", r.status);
    w.key("duration_ms").value_fixed(r.duration_ms, 1);
    w.field("trace_id", r.trace_id).field("exported", r.exported).field("request_id", r.request_id);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  api::send_json(resp, 200, w.str());
}

}  // namespace

void register_apps_routes(web::AdminServer& server, const ApiContext& ctx) {
  server.add_route("GET", "/api/v1/apps", web::Access::user,
                   [ctx](const web::RequestContext&, Poco::Net::HTTPServerRequest&,
                         Poco::Net::HTTPServerResponse& resp) { list_apps(ctx, resp); });
  server.add_route("GET", "/api/v1/apps/*", web::Access::user,
                   [ctx](const web::RequestContext&, Poco::Net::HTTPServerRequest& req,
                         Poco::Net::HTTPServerResponse& resp) {
                     auto seg = api::path_segments(req.getURI(), "/api/v1/apps/");
                     const bool history = seg.size() == 2 && seg[1] == "history";
                     if (seg.empty() || seg[0].empty() || (seg.size() != 1 && !history))
                       return api::send_error(resp, 404, "not found");
                     auto cfg = ctx.status->get().config;
                     if (!cfg) return api::send_error(resp, 404, "no such app: " + seg[0]);
                     auto it = cfg->app_index.find(seg[0]);
                     if (it == cfg->app_index.end()) return api::send_error(resp, 404, "no such app: " + seg[0]);
                     if (history) return handle_history_request(ctx, seg[0], req, resp);
                     app_detail(ctx, *cfg, cfg->apps[static_cast<size_t>(it->second)], resp);
                   });
}

}  // namespace ferry::daemon
