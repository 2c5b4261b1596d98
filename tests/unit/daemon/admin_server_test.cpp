// AdminServer (web/): binds port 0, reports the real port, routes, /healthz and draining.
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/StreamCopier.h>

#include <catch2/catch.hpp>
#include <sstream>

#include "ferry/web/admin_server.h"

namespace {

struct Reply {
  int status = 0;
  std::string content_type;
  std::string body;
};

Reply request(uint16_t port, const std::string& method, const std::string& uri) {
  Poco::Net::HTTPClientSession session("127.0.0.1", port);
  Poco::Net::HTTPRequest req(method, uri, Poco::Net::HTTPMessage::HTTP_1_1);
  session.sendRequest(req);
  Poco::Net::HTTPResponse resp;
  std::istream& in = session.receiveResponse(resp);
  Reply r;
  r.status = resp.getStatus();
  r.content_type = resp.getContentType();
  std::ostringstream out;
  Poco::StreamCopier::copyStream(in, out);
  r.body = out.str();
  return r;
}

}  // namespace

TEST_CASE("admin server binds port 0 and reports the bound port") {
  ferry::web::AdminServer server;
  std::string error;
  auto port = server.start({"127.0.0.1", 0}, error);
  REQUIRE(port);
  CHECK(*port != 0);
  CHECK(error.empty());
  CHECK(server.running());
  CHECK(server.bound_address() == "127.0.0.1:" + std::to_string(*port));

  Reply ok = request(*port, "GET", "/healthz");
  CHECK(ok.status == 200);
  CHECK(ok.body == "ok\n");
  CHECK(ok.content_type.rfind("text/plain", 0) == 0);

  server.set_draining(true);
  Reply draining = request(*port, "GET", "/healthz?x=1");
  CHECK(draining.status == 503);
  CHECK(draining.body == "draining\n");

  Reply missing = request(*port, "GET", "/nope");
  CHECK(missing.status == 404);
  CHECK(missing.body == R"({"error":"not found"})");
  CHECK(request(*port, "POST", "/healthz").status == 404);

  server.stop();
  CHECK_FALSE(server.running());
  server.stop();  // idempotent
}

TEST_CASE("admin server routes exact and prefix paths; handler exceptions become 500") {
  ferry::web::AdminServer server;
  server.add_route("GET", "/api/v1/*", ferry::web::Access::open,
                   [](const ferry::web::RequestContext&, Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) {
                     std::string body = "api " + req.getURI();
                     resp.setContentLength(static_cast<std::streamsize>(body.size()));
                     resp.send() << body;
                   });
  server.add_route("GET", "/boom", ferry::web::Access::open, [](const ferry::web::RequestContext&, Poco::Net::HTTPServerRequest&,
                                      Poco::Net::HTTPServerResponse&) {
    throw std::runtime_error("boom");
  });
  std::string error;
  auto port = server.start({"127.0.0.1", 0}, error);
  REQUIRE(port);
  CHECK(request(*port, "GET", "/api/v1/apps").body == "api /api/v1/apps");
  CHECK(request(*port, "GET", "/api/v2/apps").status == 404);
  Reply boom = request(*port, "GET", "/boom");
  CHECK(boom.status == 500);
  CHECK(boom.body == R"({"error":"boom"})");
}

TEST_CASE("admin server reports a bind failure and can start again after stop") {
  ferry::web::AdminServer first;
  std::string error;
  auto port = first.start({"127.0.0.1", 0}, error);
  REQUIRE(port);

  ferry::web::AdminServer second;
  CHECK_FALSE(second.start({"127.0.0.1", *port}, error));
  CHECK(error.find("127.0.0.1:" + std::to_string(*port)) != std::string::npos);
  CHECK_FALSE(second.running());

  CHECK_FALSE(first.start({"127.0.0.1", 0}, error));  // already running
  first.stop();
  error.clear();
  auto again = first.start({"127.0.0.1", 0}, error);
  REQUIRE(again);
  CHECK(request(*again, "GET", "/healthz").status == 200);
}
