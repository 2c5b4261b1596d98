// The admin route table and the Poco request-handler factory that dispatches through it.
// Private to web/. Built on the control thread before the server starts, then read-only:
// lookups from server threads need no lock.
#pragma once

#include <Poco/Net/HTTPRequestHandlerFactory.h>

#include <memory>
#include <string>
#include <vector>

#include "ferry/web/admin_server.h"

namespace ferry::web {

struct Route {
  std::string method;  // "GET", ...
  std::string path;    // exact, or a prefix when it ends with '*'
  Access access = Access::user;
  Handler handler;
};

class RouteTable {
 public:
  void add(Route r) { routes_.push_back(std::move(r)); }
  // First route whose method and path match, or nullptr. `path` excludes the query string.
  const Route* find(const std::string& method, const std::string& path) const;

 private:
  std::vector<Route> routes_;
};

struct SecurityState;

// Creates one handler per request from the table (shared, kept alive by the factory).
// Every request first passes authorize() (security_state.h: Host, Origin, authentication,
// CSRF). Unknown routes then get a 404 JSON {"error":"not found"}; a handler that throws
// gets a 500.
class RouterFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  RouterFactory(std::shared_ptr<const RouteTable> table, std::shared_ptr<SecurityState> security)
      : table_(std::move(table)), security_(std::move(security)) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest& request) override;

 private:
  std::shared_ptr<const RouteTable> table_;
  std::shared_ptr<SecurityState> security_;
};

// Small response helpers shared by the route handlers.
void send_text(Poco::Net::HTTPServerResponse& resp, int status, const std::string& body);
void send_json(Poco::Net::HTTPServerResponse& resp, int status, const std::string& body);
// {"error":"<message>"} (message JSON-escaped).
void send_json_error(Poco::Net::HTTPServerResponse& resp, int status, const std::string& message);

}  // namespace ferry::web
