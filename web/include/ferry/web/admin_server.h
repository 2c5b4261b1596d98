// The admin listener: a small Poco::Net::HTTPServer serving /healthz now, and later the JSON
// API (/api/v1), /metrics and the console.
//
// Ownership: the daemon owns one AdminServer (per admin address). Thread: construct, add_route,
// start, stop and the destructor on the control thread; set_draining() and is_draining() from
// any thread. Request handlers run on the server's own pool threads (2-4), so every Handler
// must be thread-safe. Nothing here throws out of start()/stop(): errors are reported by value.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "ferry/configlang/config.h"

namespace Poco::Net {
class HTTPServerRequest;
class HTTPServerResponse;
}  // namespace Poco::Net

namespace ferry::web {

// Handles one request on a server thread. Must send a response (or throw: the server answers
// 500 if nothing was sent yet).
using Handler = std::function<void(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse&)>;

class RouteTable;

class AdminServer {
 public:
  AdminServer();  // registers the built-in routes (GET /healthz)
  ~AdminServer();  // stop()s
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Adds a route; only before start(). `path` matches exactly, or as a prefix when it ends
  // with '*' ("/api/v1/*"). The first matching route wins; no match answers 404 JSON.
  void add_route(std::string method, std::string path, Handler handler);

  // Binds `addr` (port 0 = any free port) and starts serving. Returns the bound port, or
  // nullopt with `error` set (e.g. "bind 127.0.0.1:9900: Address already in use"); then
  // nothing is running. Calling it while running is an error.
  std::optional<uint16_t> start(const config::Address& addr, std::string& error);

  // Stops accepting, aborts open connections and joins the server threads. Idempotent.
  void stop();

  bool running() const { return server_ != nullptr; }
  // "127.0.0.1:9900" / "[::1]:9900" with the real bound port; empty when not running.
  std::string bound_address() const { return bound_; }

  // While draining, /healthz answers 503 "draining". Any thread.
  void set_draining(bool draining) { draining_->store(draining); }
  bool is_draining() const { return draining_->load(); }

 private:
  struct Server;  // Poco server + thread pool, private to admin_server.cpp
  std::shared_ptr<RouteTable> routes_;
  std::shared_ptr<std::atomic<bool>> draining_;
  std::unique_ptr<Server> server_;
  std::string bound_;
};

}  // namespace ferry::web
