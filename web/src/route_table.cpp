#include "route_table.h"

#include "security_state.h"

#include <Poco/JSON/Object.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/URI.h>

#include <exception>
#include <sstream>

namespace ferry::web {

const Route* RouteTable::find(const std::string& method, const std::string& path) const {
  for (const Route& r : routes_) {
    if (r.method != method) continue;
    if (!r.path.empty() && r.path.back() == '*') {
      if (path.compare(0, r.path.size() - 1, r.path, 0, r.path.size() - 1) == 0) return &r;
    } else if (r.path == path) {
      return &r;
    }
  }
  return nullptr;
}

namespace {

class RouteHandler : public Poco::Net::HTTPRequestHandler {
 public:
  RouteHandler(const Route* route, std::shared_ptr<SecurityState> security)
      : route_(route), security_(std::move(security)) {}

  void handleRequest(Poco::Net::HTTPServerRequest& req,
                     Poco::Net::HTTPServerResponse& resp) override {
    try {
      RequestContext ctx;
      if (!authorize(*security_, route_, req, resp, ctx)) return;  // answered 401/403
      if (!route_) {
        send_json_error(resp, 404, "not found");
        return;
      }
      route_->handler(ctx, req, resp);
    } catch (const std::exception& e) {
      if (!resp.sent()) send_json_error(resp, 500, e.what());
    } catch (...) {
      if (!resp.sent()) send_json_error(resp, 500, "internal error");
    }
  }

 private:
  const Route* route_;  // owned by the RouteTable, which outlives the server
  std::shared_ptr<SecurityState> security_;
};

}  // namespace

Poco::Net::HTTPRequestHandler* RouterFactory::createRequestHandler(
    const Poco::Net::HTTPServerRequest& request) {
  std::string path;
  try {
    path = Poco::URI(request.getURI()).getPath();
  } catch (...) {
    path.clear();  // malformed URI: no route matches, 404
  }
  return new RouteHandler(path.empty() ? nullptr : table_->find(request.getMethod(), path), security_);
}

void send_text(Poco::Net::HTTPServerResponse& resp, int status, const std::string& body) {
  resp.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
  resp.setContentType("text/plain; charset=utf-8");
  resp.setContentLength(static_cast<std::streamsize>(body.size()));
  resp.send() << body;
}

void send_json(Poco::Net::HTTPServerResponse& resp, int status, const std::string& body) {
  resp.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
  resp.setContentType("application/json");
  resp.setContentLength(static_cast<std::streamsize>(body.size()));
  resp.send() << body;
}

void send_json_error(Poco::Net::HTTPServerResponse& resp, int status, const std::string& message) {
  Poco::JSON::Object obj;
  obj.set("error", message);
  std::ostringstream out;
  obj.stringify(out);
  send_json(resp, status, out.str());
}

}  // namespace ferry::web
