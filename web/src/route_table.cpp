#include "route_table.h"

#include "ferry/util/json.h"
#include "security_state.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/URI.h>

#include <exception>

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

constexpr std::streamsize kMaxSkippedBody = 1 << 20;  // 1 MiB, the API's largest body
constexpr std::streamsize kMaxLingerBody = 16 << 20;  // read before closing on a larger one

class RouteHandler : public Poco::Net::HTTPRequestHandler {
 public:
  RouteHandler(const Route* route, std::shared_ptr<SecurityState> security)
      : route_(route), security_(std::move(security)) {}

  void handleRequest(Poco::Net::HTTPServerRequest& req,
                     Poco::Net::HTTPServerResponse& resp) override {
    // A request body the handler does not read would be parsed as the next request on this
    // keep-alive connection: bodies of unknown or large size close the connection after the
    // response; smaller ones are skipped once the handler is done.
    const bool body = req.getChunkedTransferEncoding() || req.getContentLength() > 0;
    if (body && (req.getChunkedTransferEncoding() || req.getContentLength() > kMaxSkippedBody))
      resp.setKeepAlive(false);
    try {
      RequestContext ctx;
      if (authorize(*security_, route_, req, resp, ctx)) {  // else answered 401/403
        if (!route_)
          send_json_error(resp, 404, "not found");
        else
          route_->handler(ctx, req, resp);
      }
    } catch (const std::exception& e) {
      if (!resp.sent()) send_json_error(resp, 500, e.what());
    } catch (...) {
      if (!resp.sent()) send_json_error(resp, 500, "internal error");
    }
    if (body) {
      // Also before a close: closing with unread bytes makes the kernel reset the connection,
      // and the client may lose the response (e.g. a 413) before it reads it.
      try {
        req.stream().ignore(resp.getKeepAlive() ? kMaxSkippedBody : kMaxLingerBody);  // ends at the body's end
      } catch (...) {
        // the client went away: the connection closes anyway
      }
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
  const Route* route = nullptr;
  if (!path.empty()) {
    route = table_->find(request.getMethod(), path);
    // HEAD is GET without the body (Poco's response drops the body of a HEAD request).
    if (!route && request.getMethod() == Poco::Net::HTTPRequest::HTTP_HEAD)
      route = table_->find(Poco::Net::HTTPRequest::HTTP_GET, path);
  }
  return new RouteHandler(route, security_);
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
  util::JsonWriter w;
  w.begin_object().field("error", message).end_object();
  send_json(resp, status, w.str());
}

}  // namespace ferry::web
