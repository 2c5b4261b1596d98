// The live instance catalog (catalog/catalog.h): GET /api/v1/instances[?app=A],
// POST /api/v1/instances (add or replace one of this node's instances),
// POST /api/v1/instances/APP/ID/start|stop, DELETE /api/v1/instances/APP/ID.
// Every change is logged with the user. docs/API.md.
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include "api/http_util.h"
#include "api/routes.h"
#include "api/shape.h"
#include "ferry/util/json.h"
#include "catalog/catalog.h"
#include "catalog/instance_json.h"

namespace ferry::daemon {

namespace {

using catalog::Record;

// Where this node routes an instance: its backend's live figures (in flight, latency,
// responses, health), when the instance is in the plan.
struct Routed {
  const config::Config* cfg = nullptr;
  const api::StatsIndex* stats = nullptr;
  const proxy::ServerStats* find(const Record& r) const {
    if (!cfg || !stats) return nullptr;
    auto it = cfg->app_index.find(r.inst.app);
    if (it == cfg->app_index.end()) return nullptr;
    const int b = cfg->apps[it->second].backend;
    return b < 0 ? nullptr : stats->server(cfg->backends[b].name, r.inst.id);
  }
};

void write_record(util::JsonWriter& w, const Record& r, const std::string& self, const Routed& routed = {}) {
  const proxy::Instance& in = r.inst;
  w.begin_object()
      .field("app", in.app)
      .field("id", in.id)
      .field("address", in.addr.to_string())
      .field("node", in.node)
      .field("region", in.region)
      .field("state", catalog::state_name(in.state))
      .field("weight", in.weight)
      .field("soft", in.soft)
      .field("hard", in.hard);
  w.key("metadata").begin_object();
  for (const auto& [k, v] : r.metadata) w.field(k, v);
  w.end_object();
  w.field("version", r.version).field("changed_ms", r.changed_ms).field("local", in.node == self);
  // Live figures when this node routes to it (a started instance of an app it serves).
  if (const proxy::ServerStats* s = routed.find(r)) {
    w.key("live")
        .begin_object()
        .field("inflight", s->inflight)
        .field("remote_inflight", s->remote_inflight)
        .field("ewma_latency_ms", s->ewma_latency_us / 1000.0)
        .field("responses", s->responses)
        .field("healthy", s->healthy)
        .end_object();
  }
  w.end_object();
}

void send_record(Poco::Net::HTTPServerResponse& resp, const char* key, const Record& r, const std::string& self) {
  util::JsonWriter w;
  w.begin_object().key(key);
  write_record(w, r, self);
  w.end_object();
  api::send_json(resp, 200, w.str());
}

int status_of(catalog::Catalog::Result r) {
  switch (r) {
    case catalog::Catalog::Result::ok: return 200;
    case catalog::Catalog::Result::invalid: return 400;
    case catalog::Catalog::Result::not_found: return 404;
    case catalog::Catalog::Result::unavailable: return 503;
  }
  return 500;
}


}  // namespace

void register_instances_routes(web::AdminServer& server, const ApiContext& ctx) {
  server.add_route("GET", "/api/v1/instances", web::Access::user,
                   [ctx](const web::RequestContext&, Poco::Net::HTTPServerRequest& req,
                         Poco::Net::HTTPServerResponse& resp) {
                     const std::string app = api::query_param(req.getURI(), "app");
                     const catalog::View v = ctx.catalog->view(app.empty() ? nullptr : &app);
                     util::JsonWriter w;
                     w.begin_object().field("node", v.node);
                     w.key("catalog").begin_object().field("backend", v.backend).field("epoch", v.epoch).field(
                         "version", v.version).field("routed_version", v.routed_version);
                     w.field("pending", v.pending);
                     w.field("lag_changes", v.lag.count)
                         .field("lag_p50_ms", api::quantile_ms(v.lag, 0.5))
                         .field("lag_p99_ms", api::quantile_ms(v.lag, 0.99));
                     if (v.backend == "etcd")
                       w.field("stale", v.stale).field("error", v.error).field("endpoint", v.endpoint).field(
                           "last_sync_age_ms", v.last_sync_age_ms);
                     w.key("peers").begin_array();
                     for (const auto& p : v.peers)
                       w.begin_object()
                           .field("node", p.node)
                           .field("epoch", p.epoch)
                           .field("version", p.version)
                           .field("routed_version", p.routed_version)
                           .field("instances", static_cast<uint64_t>(p.instances))
                           .field("last_sync_age_ms", p.last_sync_age_ms)
                           .field("stale", p.stale)
                           .field("sync_errors", p.sync_errors)
                           .end_object();
                     w.end_array();
                     w.key("acks").begin_array();
                     for (const auto& a : v.acks)
                       w.begin_object()
                           .field("node", a.node)
                           .field("reachable", a.reachable)
                           .field("version", a.version)
                           .end_object();
                     w.end_array().end_object();
                     w.key("autoscale").begin_array();
                     for (const auto& a : v.autoscale)
                       w.begin_object()
                           .field("app", a.app)
                           .field("calling", a.calling)
                           .field("pending", a.pending)
                           .field("last_start_ms", a.last_start_unix_ms)
                           .field("last_error", a.last_error)
                           .field("start_calls", a.start_calls)
                           .field("start_ok", a.start_ok)
                           .field("start_failures", a.start_failures)
                           .field("stop_calls", a.stop_calls)
                           .field("stop_ok", a.stop_ok)
                           .field("stop_failures", a.stop_failures)
                           .end_object();
                     w.end_array();
                     const proxy::EngineStats stats = ctx.engine->stats();
                     const api::StatsIndex index(stats);
                     const auto cfg = ctx.status->get().config;
                     const Routed routed{cfg.get(), &index};
                     w.key("instances").begin_array();
                     for (const auto& r : v.records) write_record(w, r, v.node, routed);
                     w.end_array().end_object();
                     api::send_json(resp, 200, w.str());
                   });
  server.add_route("POST", "/api/v1/instances", web::Access::user,
                   [ctx](const web::RequestContext& rc, Poco::Net::HTTPServerRequest& req,
                         Poco::Net::HTTPServerResponse& resp) {
                     std::string body, error;
                     if (!api::read_body(req, 64 * 1024, body)) return api::send_error(resp, 413, "body over 64 KiB");
                     Record r, out;
                     catalog::Catalog::Result res = catalog::Catalog::Result::invalid;
                     if (catalog::parse_instance(body, r, error)) res = ctx.catalog->put(std::move(r), out, error);
                     const std::string what = "instance-put app=" + out.inst.app + " id=" + out.inst.id;
                     if (res != catalog::Catalog::Result::ok) {
                       api::log_action(rc, "instance-put", "refused");
                       return api::send_error(resp, status_of(res), error);
                     }
                     api::log_action(rc, what + " version=" + std::to_string(out.version), "ok");
                     send_record(resp, "instance", out, ctx.catalog->node());
                   });
  auto change = [ctx](const web::RequestContext& rc, Poco::Net::HTTPServerRequest& req,
                      Poco::Net::HTTPServerResponse& resp) {
    auto seg = api::path_segments(req.getURI(), "/api/v1/instances/");
    const bool del = req.getMethod() == "DELETE";
    if (seg.size() != (del ? 2u : 3u) || (!del && seg[2] != "start" && seg[2] != "stop"))
      return api::send_error(resp, 404, "not found");
    Record out;
    std::string error;
    const std::string action = del ? "remove" : seg[2];
    catalog::Catalog::Result res =
        del ? ctx.catalog->remove(seg[0], seg[1], out, error)
            : ctx.catalog->set_state(seg[0], seg[1],
                                     seg[2] == "start" ? proxy::InstanceState::started : proxy::InstanceState::stopped,
                                     out, error);
    const std::string what = "instance-" + action + " app=" + seg[0] + " id=" + seg[1];
    if (res != catalog::Catalog::Result::ok) {
      api::log_action(rc, what, res == catalog::Catalog::Result::not_found ? "not-found" : "failed");
      return api::send_error(resp, status_of(res), error);
    }
    api::log_action(rc, what + " version=" + std::to_string(out.version), "ok");
    send_record(resp, del ? "removed" : "instance", out, ctx.catalog->node());
  };
  server.add_route("POST", "/api/v1/instances/*", web::Access::user, change);
  server.add_route("DELETE", "/api/v1/instances/*", web::Access::user, change);
}

}  // namespace ferry::daemon
