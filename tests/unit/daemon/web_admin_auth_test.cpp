// AdminServer with security settings, in process: 401 without a session, login, cookie and
// bearer access, CSRF, Host, metrics-public, log callback and log_action, set_security ending
// sessions of removed users.
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPCookie.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/StreamCopier.h>

#include <catch2/catch.hpp>
#include <mutex>
#include <sstream>

#include "ferry/util/password_hash.h"
#include "ferry/web/admin_server.h"
#include "ferry/util/password.h"

namespace {

struct Reply {
  int status = 0;
  std::string body;
  std::string set_cookie;
};

Reply call(uint16_t port, const std::string& method, const std::string& uri,
           std::vector<std::pair<std::string, std::string>> headers = {}, const std::string& body = {}) {
  Poco::Net::HTTPClientSession session("127.0.0.1", port);
  Poco::Net::HTTPRequest req(method, uri, Poco::Net::HTTPMessage::HTTP_1_1);
  for (auto& [k, v] : headers) req.set(k, v);
  req.setContentLength(static_cast<std::streamsize>(body.size()));
  session.sendRequest(req) << body;
  Poco::Net::HTTPResponse resp;
  std::istream& in = session.receiveResponse(resp);
  Reply r;
  r.status = resp.getStatus();
  r.set_cookie = resp.get("Set-Cookie", "");
  std::ostringstream out;
  Poco::StreamCopier::copyStream(in, out);
  r.body = out.str();
  return r;
}

std::string field(const std::string& json, const std::string& key) {
  auto pos = json.find("\"" + key + "\":\"");
  if (pos == std::string::npos) return {};
  pos += key.size() + 4;
  return json.substr(pos, json.find('"', pos) - pos);
}

std::string quick_hash(const std::string& password) {  // PBKDF2, 1000 iterations: fast tests
  ferry::util::PasswordHash h;
  h.kind = ferry::util::PasswordHash::Kind::pbkdf2_sha256;
  h.iterations = 1000;
  h.salt = "saltsaltsaltsalt";
  h.hash = *ferry::util::derive_pbkdf2_sha256(password, h.salt, 1000, 32);
  return ferry::util::format_password_hash(h);
}

}  // namespace

TEST_CASE("admin server enforces sessions, CSRF, Host and logs actions", "[web][auth]") {
  using namespace ferry::web;
  std::mutex mu;
  std::vector<std::string> lines;
  AdminServer server;
  server.add_route("POST", "/api/v1/act", Access::user,
                   [](const RequestContext& ctx, Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse& resp) {
                     log_action(ctx, "action=test result=ok");
                     resp.setContentLength(2);
                     resp.send() << "{}";
                   });
  server.set_log([&](int, const std::string& line) {
    std::lock_guard lock(mu);
    lines.push_back(line);
  });
  AdminSecurity sec;
  sec.users = {{"ops", quick_hash("pw-ops")}, {"dev", quick_hash("pw-dev")}};
  server.set_security(sec);
  std::string error;
  auto port = server.start({"127.0.0.1", 0}, error);
  REQUIRE(port);

  CHECK(call(*port, "GET", "/healthz").status == 200);
  CHECK(call(*port, "GET", "/api/v1/me").status == 401);
  CHECK(call(*port, "GET", "/metrics").status == 401);
  CHECK(call(*port, "POST", "/api/v1/login", {}, R"({"user":"ops","password":"nope"})").status == 401);

  Reply login = call(*port, "POST", "/api/v1/login", {}, R"({"user":"ops","password":"pw-ops"})");
  REQUIRE(login.status == 200);
  std::string token = field(login.body, "token"), csrf = field(login.body, "csrf");
  REQUIRE(token.size() == 64);
  CHECK(login.set_cookie == "ferry_session=" + token + "; Path=/; HttpOnly; SameSite=Strict");
  std::pair<std::string, std::string> cookie{"Cookie", "ferry_session=" + token};

  CHECK(call(*port, "GET", "/api/v1/me", {cookie}).status == 200);
  CHECK(call(*port, "POST", "/api/v1/act", {cookie}).status == 403);
  CHECK(call(*port, "POST", "/api/v1/act", {cookie, {"X-CSRF-Token", csrf}}).status == 200);
  CHECK(call(*port, "POST", "/api/v1/act", {{"Authorization", "Bearer " + token}}).status == 200);
  CHECK(call(*port, "GET", "/api/v1/me", {cookie, {"Host", "evil.test"}}).status == 403);
  CHECK(call(*port, "POST", "/api/v1/act", {{"Authorization", "Bearer " + token}, {"Origin", "http://evil.test"}}).status == 403);

  sec.metrics_public = true;
  server.set_security(sec);
  CHECK(call(*port, "GET", "/metrics").status == 404);  // open now; no /metrics route here
  // Removing ops ends its session.
  sec.users.erase(sec.users.begin());
  server.set_security(sec);
  CHECK(call(*port, "GET", "/api/v1/me", {cookie}).status == 401);

  server.stop();
  std::lock_guard lock(mu);
  auto has = [&](const std::string& s) {
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(s) != std::string::npos; });
  };
  CHECK(has("admin login failed user=ops address=127.0.0.1"));
  CHECK(has("admin login user=ops address=127.0.0.1"));
  CHECK(has("admin action user=ops action=test result=ok address=127.0.0.1"));
  CHECK(has("admin session ended user=ops"));
}
