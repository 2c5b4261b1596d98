// The admin server's security state shared by its request threads: the settings from
// set_security(), the Host rules of the bound listener, the sessions and the failed-login
// limiter. Private to web/.
//
// Ownership: one per AdminServer, held by shared_ptr by the server and its handler factory.
// Thread: every member behind `mu` except `log` and `tls`, which are set before start() and
// then read-only.
#pragma once

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <memory>
#include <mutex>
#include <string>

#include "ferry/web/admin_server.h"
#include "front/login_limiter.h"
#include "request_guard.h"
#include "sessions.h"

namespace ferry::web {

struct Route;

struct SecurityState {
  using Clock = std::chrono::steady_clock;

  std::mutex mu;
  AdminSecurity security;  // under mu
  HostRules rules;         // under mu (port and host from start(), names from security)
  SessionStore sessions;   // under mu
  LoginLimiter limiter;    // under mu
  std::shared_ptr<const LogFunction> log;  // before start()
  bool tls = false;                        // before start()

  void write_log(int priority, const std::string& line) const {
    if (log && *log) (*log)(priority, line);
  }
};

// The session token a request carries: `Authorization: Bearer TOKEN` (by_bearer set) or the
// `ferry_session` cookie; empty when neither.
std::string request_token(const Poco::Net::HTTPServerRequest& req, bool& by_bearer);

// Applies the Host / Origin / Sec-Fetch-Site rules, authentication and the CSRF check to one
// request for `route` (null: no route matched, treated as Access::user). Fills `ctx` and returns
// true when the request may proceed; otherwise sends 401/403 JSON and returns false.
bool authorize(SecurityState& state, const Route* route, Poco::Net::HTTPServerRequest& req,
               Poco::Net::HTTPServerResponse& resp, RequestContext& ctx);

// Registers POST /api/v1/login, POST /api/v1/logout and GET /api/v1/me on `server`.
void register_auth_routes(AdminServer& server, std::shared_ptr<SecurityState> state);

}  // namespace ferry::web
