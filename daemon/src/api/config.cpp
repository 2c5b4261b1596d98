// GET /api/v1/config (the text in force, admin-user hashes masked), POST /api/v1/config/
// validate (a candidate checked like `ferryd -c`, nothing applied) and POST /api/v1/reload
// (DaemonStatus::request_reload: the main thread reloads as on SIGHUP).
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include "api/http_util.h"
#include "api/routes.h"
#include "api/shape.h"
#include "check.h"
#include "load_config.h"

namespace ferry::daemon {

namespace {

constexpr size_t kMaxCandidate = 1 << 20;  // 1 MiB
constexpr std::chrono::seconds kReloadTimeout{30};
const std::string kCandidate = "candidate";

std::string dir_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return "";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Checks `text` as if it were a file next to the running configuration (so relative paths
// resolve the same way), reporting it as "candidate".
// The candidate comes from an API user, not from the host's operator, so the check must not
// become a way to read what ferryd can read: `${VAR}` resolves only variables named FERRY_*
// (others are undefined), and diagnostics about an included file keep their position but not
// their message, which may quote that file's text (e.g. `include /etc/ferry/admin.pem`).
config::LoadResult validate_text(const std::string& text, const std::string& running_path) {
  const std::string dir = dir_of(running_path);
  const std::string name = dir.empty() ? kCandidate : dir == "/" ? "/" + kCandidate : dir + "/" + kCandidate;
  config::LoadOptions opts;
  opts.base_dir = dir;
  opts.getenv = [](const char* var) -> const char* {
    return std::string_view(var).substr(0, 6) == "FERRY_" ? ::getenv(var) : nullptr;
  };
  config::LoadResult r = load_config_text(text, name, opts);
  check_runtime_files(r);
  for (config::Diagnostic& d : r.diagnostics) {
    if (d.file == name) {
      d.file = kCandidate;
    } else {
      d.message = "problem in this included file (details only from `ferryd -c` on the host)";
      d.source_line.clear();
    }
  }
  return r;
}

}  // namespace

void register_config_routes(web::AdminServer& server, const ApiContext& ctx) {
  server.add_route("GET", "/api/v1/config", web::Access::user,
                   [ctx](const web::RequestContext&, Poco::Net::HTTPServerRequest&,
                         Poco::Net::HTTPServerResponse& resp) {
                     DaemonSnapshot s = ctx.status->get();
                     api::JsonWriter w;
                     w.begin_object();
                     w.field("path", s.config_path).field("generation", s.generation);
                     w.field("loaded_at", api::unix_seconds(s.loaded_at));
                     w.field("text", api::mask_admin_hashes(s.config_text));
                     w.end_object();
                     api::send_json(resp, 200, w.str());
                   });
  server.add_route("POST", "/api/v1/config/validate", web::Access::user,
                   [ctx](const web::RequestContext& rc, Poco::Net::HTTPServerRequest& req,
                         Poco::Net::HTTPServerResponse& resp) {
                     std::string body;
                     if (!api::read_body(req, kMaxCandidate, body))
                       return api::send_error(resp, 413, "the configuration is larger than 1 MiB");
                     DaemonSnapshot running = ctx.status->get();
                     // A candidate copied from GET /api/v1/config has its hashes masked.
                     if (running.config)
                       body = api::restore_admin_hashes(body, running.config->global.admin_users);
                     config::LoadResult r = validate_text(body, running.config_path);
                     api::log_action(rc, "validate", r.ok() ? "ok" : "invalid");
                     api::send_json(resp, 200, api::diagnostics_json(r));
                   });
  server.add_route("POST", "/api/v1/reload", web::Access::user,
                   [ctx](const web::RequestContext& rc, Poco::Net::HTTPServerRequest&,
                         Poco::Net::HTTPServerResponse& resp) {
                     bool finished = false;
                     ReloadRecord rec = ctx.status->request_reload(kReloadTimeout, finished);
                     if (!finished) {
                       api::log_action(rc, "reload", "timeout");
                       return api::send_error(resp, 504, "the reload did not finish in 30 s");
                     }
                     api::JsonWriter w;
                     w.begin_object().field("ok", rec.last_ok);
                     if (rec.last_ok)
                       w.field("generation", ctx.status->get().generation);
                     else
                       w.field("error", rec.last_error);
                     w.end_object();
                     api::log_action(rc, "reload", rec.last_ok ? "ok" : "failed");
                     api::send_json(resp, 200, w.str());
                   });
}

}  // namespace ferry::daemon
