// GET /api/v1/config (the text in force, admin-user hashes masked), POST /api/v1/config/
// validate (a candidate checked like `ferryd -c`, nothing applied) and POST /api/v1/reload
// (DaemonStatus::request_reload: the main thread reloads as on SIGHUP).
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Message.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <limits.h>
#include <stdlib.h>

#include <semaphore>

#include "api/http_util.h"
#include "api/routes.h"
#include "api/shape.h"
#include "services/check.h"
#include "services/load_config.h"

namespace ferry::daemon {

namespace {

constexpr size_t kMaxCandidate = 1 << 20;  // 1 MiB
// The candidate and everything it includes, in total.
constexpr size_t kMaxCandidateSource = 4u << 20;
constexpr std::chrono::seconds kReloadTimeout{30};
const std::string kCandidate = "candidate";

// At most kMaxValidating validations run at once (process-wide); more get 503 + Retry-After.
constexpr std::ptrdiff_t kMaxValidating = 2;
std::counting_semaphore<kMaxValidating>& validating() {
  static std::counting_semaphore<kMaxValidating> sem(kMaxValidating);
  return sem;
}

// The real directory of the (absolute) running configuration path; "" (no file allowed) if
// it cannot be resolved.
std::string real_dir_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (path.empty() || path[0] != '/') return "";
  std::string dir = slash == 0 ? "/" : path.substr(0, slash);
  char buf[PATH_MAX];
  return ::realpath(dir.c_str(), buf) ? std::string(buf) : std::string();
}

// Checks `text` as if it were a file named "candidate" in the running configuration's
// directory (so relative paths resolve the same way), as untrusted text: the candidate comes
// from an API user, not from the host's operator, so the check must not become a way to read
// what ferryd can read. configlang's LoadOptions::untrusted is the one rule for that: no
// environment (${VAR} stays a placeholder), and no file outside the configuration's directory.
// Diagnostics about an included file (inside that directory) keep their position but not
// their message, which may quote that file's text (e.g. a key file next to the config).
config::LoadResult validate_text(const std::string& text, const std::string& running_path) {
  const std::string dir = real_dir_of(running_path);
  const std::string name = dir.empty() ? kCandidate : dir == "/" ? "/" + kCandidate : dir + "/" + kCandidate;
  config::LoadOptions opts;
  opts.base_dir = dir;
  opts.untrusted = true;
  opts.max_source_bytes = kMaxCandidateSource;
  config::LoadResult r = load_config_text(text, name, opts);
  check_runtime_files(r);
  config::limit_diagnostics(r);
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
                     util::JsonWriter w;
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
                     if (!validating().try_acquire()) {
                       if (rc.log && *rc.log)
                         (*rc.log)(Poco::Message::PRIO_WARNING, "admin validate refused: " +
                                                                    std::to_string(kMaxValidating) +
                                                                    " already running address=" + rc.client);
                       resp.set("Retry-After", "1");
                       return api::send_error(resp, 503, "validations in progress, retry later");
                     }
                     config::LoadResult r;
                     try {
                       DaemonSnapshot running = ctx.status->get();
                       // A candidate copied from GET /api/v1/config has its hashes masked.
                       if (running.config)
                         body = api::restore_admin_hashes(body, running.config->global.admin_users);
                       r = validate_text(body, running.config_path);
                     } catch (...) {
                       validating().release();
                       throw;
                     }
                     validating().release();
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
                     util::JsonWriter w;
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
