// POST /api/v1/login, POST /api/v1/logout, GET /api/v1/me (docs/API.md, Authentication).
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Message.h>
#include <Poco/Net/HTTPCookie.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <algorithm>
#include <istream>
#include <semaphore>

#include "ferry/util/json.h"
#include "ferry/util/password.h"
#include "route_table.h"
#include "security_state.h"

namespace ferry::web {

namespace {

using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

constexpr size_t kMaxLoginBody = 4096;
// Verified when the user does not exist, so that a bad user costs as much as a bad password.
constexpr const char* kDummyHash =
    "$scrypt$ln=15,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

std::string cookie(const std::string& value, bool secure, bool clear) {
  std::string c = "ferry_session=" + value + "; Path=/; HttpOnly; SameSite=Strict";
  if (secure) c += "; Secure";
  if (clear) c += "; Max-Age=0";
  return c;
}

// Reads {"user": "...", "password": "..."}; false on a malformed body.
bool read_credentials(HTTPServerRequest& req, std::string& user, std::string& password) {
  std::string body;
  body.resize(kMaxLoginBody + 1);
  req.stream().read(body.data(), static_cast<std::streamsize>(body.size()));
  body.resize(static_cast<size_t>(req.stream().gcount()));
  if (body.size() > kMaxLoginBody) return false;
  try {
    Poco::JSON::Parser parser;
    auto obj = parser.parse(body).extract<Poco::JSON::Object::Ptr>();
    if (!obj || !obj->has("user") || !obj->has("password")) return false;
    if (!obj->get("user").isString() || !obj->get("password").isString()) return false;
    user = obj->getValue<std::string>("user");
    password = obj->getValue<std::string>("password");
    return true;
  } catch (...) {
    return false;
  }
}

constexpr std::ptrdiff_t kMaxVerifying = 2;
std::counting_semaphore<kMaxVerifying>& verifying() {
  static std::counting_semaphore<kMaxVerifying> sem(kMaxVerifying);  // process-wide
  return sem;
}

// User names in log lines: printable ASCII only, at most 64 characters.
std::string loggable(const std::string& s) {
  std::string out;
  for (char c : s.substr(0, 64)) out += (c > 32 && c < 127) ? c : '?';
  return out.empty() ? std::string("\"\"") : out;
}

void login(SecurityState& st, const RequestContext& ctx, HTTPServerRequest& req,
           HTTPServerResponse& resp) {
  using Clock = SecurityState::Clock;
  std::string hash;
  bool known = false;
  std::string user, password;
  if (!read_credentials(req, user, password)) {
    send_json_error(resp, 400, "expected {\"user\": \"...\", \"password\": \"...\"}");
    return;
  }
  // The back-off (LoginLimiter): counted per (user, address), user and address, known user or not.
  LoginLimiter::Attempt attempt;
  {
    std::lock_guard lock(st.mu);
    attempt = st.limiter.begin(user, ctx.client, Clock::now());
    if (attempt.wait > 0) {
      st.write_log(Poco::Message::PRIO_WARNING, "admin login rate-limited user=" + loggable(user) +
                                                    " address=" + ctx.client + " retry_after=" +
                                                    std::to_string(attempt.wait) + " by=" + attempt.by);
      resp.set("Retry-After", std::to_string(attempt.wait));
      send_json_error(resp, 429, "too many failed logins, retry later");
      return;
    }
  }
  std::string check_hash = kDummyHash;
  {
    std::lock_guard lock(st.mu);
    // An unknown user is checked against a configured user's hash: the same parameters, so
    // the same work and time as a wrong password.
    if (!st.security.users.empty()) check_hash = st.security.users.front().password_hash;
    for (const config::AdminUser& u : st.security.users)
      if (u.name == user) {
        hash = check_hash = u.password_hash;
        known = true;
      }
  }
  // At most kMaxVerifying hashes are computed at once (each costs tens of MiB and ~0.1 s), so
  // a flood of logins from many addresses cannot take every admin thread or the memory.
  if (!verifying().try_acquire_for(std::chrono::seconds(5))) {
    {
      std::lock_guard lock(st.mu);
      st.limiter.cancel(attempt);  // no password was tried
    }
    resp.set("Retry-After", "5");
    send_json_error(resp, 503, "too many logins in progress, retry later");
    return;
  }
  bool ok = util::verify_password(password, check_hash) && known;
  verifying().release();
  std::optional<SessionStore::Created> created;
  std::chrono::seconds idle;
  {
    std::lock_guard lock(st.mu);
    idle = st.security.session_idle;
    // The user may have been removed or changed by a reload while the hash was verified.
    ok = ok && std::any_of(st.security.users.begin(), st.security.users.end(),
                           [&](const config::AdminUser& u) { return u.name == user && u.password_hash == hash; });
    if (ok) {
      st.limiter.succeeded(attempt);
      created = st.sessions.create(user, hash, Clock::now(), idle);
    }
  }
  if (!ok) {
    {
      std::lock_guard lock(st.mu);
      st.limiter.failed(attempt, Clock::now());
    }
    st.write_log(Poco::Message::PRIO_WARNING,
                 "admin login failed user=" + loggable(user) + " address=" + ctx.client);
    send_json_error(resp, 401, "bad user or password");
    return;
  }
  if (!created) {
    send_json_error(resp, 500, "could not create a session (random generator failed)");
    return;
  }
  st.write_log(Poco::Message::PRIO_INFORMATION, "admin login user=" + user + " address=" + ctx.client);
  // Members in name order, as the answer has always been written (POCO's default Object order).
  util::JsonWriter w;
  w.begin_object().field("csrf", created->csrf).field("idle_timeout_s", static_cast<int64_t>(idle.count()));
  w.field("token", created->token).field("user", user).end_object();
  resp.add("Set-Cookie", cookie(created->token, st.tls, false));
  resp.set("Cache-Control", "no-store");
  send_json(resp, 200, w.str());
}

void logout(SecurityState& st, const RequestContext& ctx, HTTPServerRequest& req,
            HTTPServerResponse& resp) {
  bool by_bearer = false;
  std::string token = request_token(req, by_bearer);
  bool ended;
  {
    std::lock_guard lock(st.mu);
    ended = st.sessions.remove(token);
  }
  if (ended)
    st.write_log(Poco::Message::PRIO_INFORMATION, "admin logout user=" + ctx.user + " address=" + ctx.client);
  if (!by_bearer) resp.add("Set-Cookie", cookie("", st.tls, true));
  send_json(resp, 200, "{}");
}

void me(SecurityState& st, const RequestContext& ctx, HTTPServerRequest& req, HTTPServerResponse& resp) {
  bool by_bearer = false;
  std::string token = request_token(req, by_bearer);
  std::optional<SessionStore::Session> session;
  {
    std::lock_guard lock(st.mu);
    session = st.sessions.find(token, SecurityState::Clock::now(), st.security.session_idle, false);
  }
  util::JsonWriter w;  // members in name order, as login's
  w.begin_object().field("auth", !session ? "none" : (ctx.by_token ? "token" : "session"));
  w.field("csrf", session ? session->csrf : std::string()).field("user", ctx.user).end_object();
  resp.set("Cache-Control", "no-store");
  send_json(resp, 200, w.str());
}

}  // namespace

void register_auth_routes(AdminServer& server, std::shared_ptr<SecurityState> state) {
  server.add_route("POST", "/api/v1/login", Access::open,
                   [state](const RequestContext& ctx, HTTPServerRequest& req, HTTPServerResponse& resp) {
                     login(*state, ctx, req, resp);
                   });
  server.add_route("POST", "/api/v1/logout", Access::user,
                   [state](const RequestContext& ctx, HTTPServerRequest& req, HTTPServerResponse& resp) {
                     logout(*state, ctx, req, resp);
                   });
  server.add_route("GET", "/api/v1/me", Access::user,
                   [state](const RequestContext& ctx, HTTPServerRequest& req, HTTPServerResponse& resp) {
                     me(*state, ctx, req, resp);
                   });
}

}  // namespace ferry::web
