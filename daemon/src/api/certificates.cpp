// GET /api/v1/certificates (certificate_status) and POST /api/v1/certificates/APP/renew
// (AcmeManager::renew_now): 202 when an order was requested, 404 for an unknown app, 409 when
// the app does not use `certificate acme` or no acme section exists.
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include "api/cert_status.h"
#include "api/http_util.h"
#include "api/routes.h"
#include "api/shape.h"
#include "services/acme_manager.h"

namespace ferry::daemon {

void register_certificates_routes(web::AdminServer& server, const ApiContext& ctx) {
  server.add_route("GET", "/api/v1/certificates", web::Access::user,
                   [ctx](const web::RequestContext&, Poco::Net::HTTPServerRequest&,
                         Poco::Net::HTTPServerResponse& resp) {
                     util::JsonWriter w;
                     w.begin_array();
                     for (const CertStatus& c : certificate_status(ctx)) api::write_certificate(w, c);
                     w.end_array();
                     api::send_json(resp, 200, w.str());
                   });
  server.add_route("POST", "/api/v1/certificates/*", web::Access::user,
                   [ctx](const web::RequestContext& rc, Poco::Net::HTTPServerRequest& req,
                         Poco::Net::HTTPServerResponse& resp) {
                     auto seg = api::path_segments(req.getURI(), "/api/v1/certificates/");
                     if (seg.size() != 2 || seg[1] != "renew" || seg[0].empty())
                       return api::send_error(resp, 404, "not found");
                     const std::string& app = seg[0];
                     const std::string what = "renew app=" + app;
                     auto cfg = ctx.status->get().config;
                     if (!cfg || !cfg->app_index.count(app)) {
                       api::log_action(rc, what, "not-found");
                       return api::send_error(resp, 404, "no such app: " + app);
                     }
                     if (!ctx.acme || !ctx.acme->renew_now(app)) {
                       api::log_action(rc, what, "refused");
                       const config::App& a = cfg->apps[static_cast<size_t>(cfg->app_index.at(app))];
                       return api::send_error(resp, 409,
                                              a.certificate != "acme" ? "app " + app + " does not use certificate acme"
                                                                      : "no ACME renewal possible for app " + app + " now");
                     }
                     api::log_action(rc, what, "ok");
                     util::JsonWriter w;
                     w.begin_object().field("app", app).field("state", "pending").end_object();
                     api::send_json(resp, 202, w.str());
                   });
}

}  // namespace ferry::daemon
