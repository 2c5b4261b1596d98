#include <Poco/Message.h>
#include <Poco/Net/NameValueCollection.h>
#include <Poco/URI.h>
#include <openssl/crypto.h>

#include <cctype>

#include "route_table.h"
#include "security_state.h"

namespace ferry::web {

namespace {

bool is_safe_method(const std::string& m) { return m == "GET" || m == "HEAD"; }

bool equal_ct(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void refuse(Poco::Net::HTTPServerResponse& resp, int status, const std::string& message) {
  if (status == 401) resp.set("WWW-Authenticate", "Bearer realm=\"ferry\"");
  resp.setKeepAlive(false);  // the request body (if any) was not read
  send_json_error(resp, status, message);
}

}  // namespace

std::string request_token(const Poco::Net::HTTPServerRequest& req, bool& by_bearer) {
  by_bearer = false;
  std::string auth = req.get("Authorization", "");  // a copy: get() may return its default argument
  if (auth.size() > 7) {
    std::string scheme = auth.substr(0, 7);
    for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (scheme == "bearer ") {
      by_bearer = true;
      size_t start = auth.find_first_not_of(' ', 7);
      return start == std::string::npos ? std::string() : auth.substr(start);
    }
  }
  Poco::Net::NameValueCollection cookies;
  req.getCookies(cookies);
  return cookies.get("ferry_session", "");
}

bool authorize(SecurityState& state, const Route* route, Poco::Net::HTTPServerRequest& req,
               Poco::Net::HTTPServerResponse& resp, RequestContext& ctx) {
  ctx.client = req.clientAddress().host().toString();
  ctx.log = state.log;
  const std::string& method = req.getMethod();
  bool safe = is_safe_method(method);

  std::unique_lock lock(state.mu);
  if (!host_allowed(req.get("Host", ""), state.rules)) {  // absent Host: refused
    lock.unlock();
    refuse(resp, 403, "Host not allowed (admin address or admin-host names only)");
    return false;
  }
  if (!safe) {
    if (!fetch_site_allowed(req.get("Sec-Fetch-Site", ""))) {
      lock.unlock();
      refuse(resp, 403, "cross-site request refused (Sec-Fetch-Site)");
      return false;
    }
    if (req.has("Origin") && !origin_allowed(req.get("Origin"), state.rules)) {
      lock.unlock();
      refuse(resp, 403, "cross-origin request refused (Origin)");
      return false;
    }
  }

  Access access = route ? route->access : Access::user;
  if (access == Access::user && state.security.metrics_public && (method == "GET" || method == "HEAD")) {
    std::string path;
    try {
      path = Poco::URI(req.getURI()).getPath();
    } catch (...) {
    }
    if (path == "/metrics") access = Access::open;
  }

  bool by_bearer = false;
  std::string token = request_token(req, by_bearer);
  auto session = state.sessions.find(token, SecurityState::Clock::now(), state.security.session_idle);
  bool no_users = state.security.users.empty();
  lock.unlock();

  if (session) {
    ctx.user = session->user;
    ctx.by_token = by_bearer;
  }
  if (access == Access::open || no_users) return true;
  if (!session) {
    refuse(resp, 401, "authentication required");
    return false;
  }
  if (!safe && !by_bearer && !equal_ct(req.get("X-CSRF-Token", ""), session->csrf)) {
    refuse(resp, 403, "missing or wrong X-CSRF-Token");
    return false;
  }
  return true;
}

void log_action(const RequestContext& ctx, const std::string& what) {
  if (!ctx.log || !*ctx.log) return;
  // `what` may carry names from the request path: control characters become '?', so a
  // client cannot start a forged log line.
  std::string clean = what;
  for (char& c : clean)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  (*ctx.log)(Poco::Message::PRIO_NOTICE,
             "admin action user=" + (ctx.user.empty() ? std::string("-") : ctx.user) + " " + clean +
                 " address=" + ctx.client);
}

}  // namespace ferry::web
