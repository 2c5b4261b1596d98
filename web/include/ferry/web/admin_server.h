// The admin listener: /healthz, the JSON API (/api/v1), /metrics and the console.
//
// Connections are owned by an event-loop thread (web/src/front/admin_front.h) that reads each
// request head and body completely, under deadlines and per-client-address connection caps,
// before a handler sees it (docs/API.md, "Connection limits"); handlers then run on a pool of up
// to 16 threads with a POCO HTTPServerRequest / HTTPServerResponse whose body and answer are
// buffered in memory (so a slow client never holds a handler thread).
//
// Ownership: the daemon owns one AdminServer (per admin address). Thread: construct, add_route,
// start, stop and the destructor on the control thread; set_draining() and is_draining() from
// any thread. Request handlers run on the handler threads, so every Handler must be
// thread-safe. Nothing here throws out of start()/stop(): errors are reported by value.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ferry/configlang/config.h"

namespace Poco::Net {
class HTTPServerRequest;
class HTTPServerResponse;
}  // namespace Poco::Net

namespace ferry::web {

// Who may call a route. `open`: anyone who reaches the listener (GET /healthz, the login
// endpoint, the console's static shell; GET /metrics when `metrics-public` is set). `user`: a
// logged-in user (session cookie) or a bearer token; requests with other methods than GET/HEAD
// also need the session's CSRF token (X-CSRF-Token) unless authenticated by bearer token, and
// are refused when Origin / Sec-Fetch-Site show another site. Every route also checks Host
// against the admin address and the `admin-host` names (DNS rebinding).
enum class Access { open, user };

// Where the admin server's log lines go: `priority` is a Poco::Message::Priority value
// (PRIO_WARNING for failed logins, PRIO_NOTICE for actions, PRIO_INFORMATION for logins).
// Called from the server threads: must be thread-safe.
using LogFunction = std::function<void(int priority, const std::string& line)>;

// What the server knows about the caller of one request, handed to the handler.
struct RequestContext {
  std::string user;         // authenticated user name; empty on an open route without a session
                            // and on every route when no user is configured
  bool by_token = false;    // authenticated with Authorization: Bearer (no cookie)
  std::string client;       // the peer's IP address (for logs)
  std::shared_ptr<const LogFunction> log;  // the server's log callback (may be null)
};

// Logs one admin action through the server's log callback, at PRIO_NOTICE:
//   "admin action user=ops action=drain backend=b server=s result=ok address=127.0.0.1"
// where `what` is "action=drain backend=b server=s result=ok" (key=value pairs, the caller's
// choice). user is "-" when no user is configured. Every mutating API route calls it once,
// with the result. Any thread.
void log_action(const RequestContext& ctx, const std::string& what);

// Handles one request on a server thread. Must send a response (or throw: the server answers
// 500 if nothing was sent yet).
using Handler = std::function<void(const RequestContext&, Poco::Net::HTTPServerRequest&,
                                   Poco::Net::HTTPServerResponse&)>;

// The security settings of the admin surface, from the `global` section. Replaced as a whole
// by set_security() (on reload) without restarting the listener; sessions of users that still
// exist survive it.
struct AdminSecurity {
  std::vector<config::AdminUser> users;      // `admin-user NAME HASH`
  std::vector<std::string> hosts;            // `admin-host NAME`: extra accepted Host names
  bool metrics_public = false;               // `metrics-public on`: GET /metrics is open
  std::chrono::seconds session_idle{1800};   // `admin-session-timeout`
};

class RouteTable;
struct SecurityState;

class AdminServer {
 public:
  // Registers the built-in routes: GET /healthz, POST /api/v1/login, POST /api/v1/logout,
  // GET /api/v1/me (docs/API.md, Authentication).
  AdminServer();
  ~AdminServer();  // stop()s
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Adds a route; only before start(). `path` matches exactly, or as a prefix when it ends
  // with '*' ("/api/v1/*"). The first matching route wins; no match answers 404 JSON.
  void add_route(std::string method, std::string path, Access access, Handler handler);

  // Replaces the security settings (users, hosts, ...). Any thread; takes effect for the next
  // request. Sessions of removed users, or of users whose hash changed, end (logged).
  // The password hashes are only used to verify logins: no route returns them.
  void set_security(AdminSecurity security);

  // Serve HTTPS with this PEM certificate chain and private key (TLS 1.2+, no client
  // certificates); empty cert = plain HTTP (the default). Only before start(); a bad file
  // makes start() fail with the error.
  void set_tls(std::string cert_file, std::string key_file);

  // Where log lines go (failed logins, logins, logouts, log_action); null = nowhere. Only
  // before start().
  void set_log(LogFunction log);

  // Binds `addr` (port 0 = any free port) and starts serving. Returns the bound port, or
  // nullopt with `error` set (e.g. "bind 127.0.0.1:9900: Address already in use"); then
  // nothing is running. Calling it while running is an error.
  std::optional<uint16_t> start(const config::Address& addr, std::string& error);

  // Stops accepting, closes open connections, lets running handlers finish (their answers are
  // dropped) and joins the threads. Idempotent.
  void stop();

  bool running() const { return server_ != nullptr; }
  // "127.0.0.1:9900" / "[::1]:9900" with the real bound port; empty when not running.
  std::string bound_address() const { return bound_; }

  // While draining, /healthz answers 503 "draining". Any thread.
  void set_draining(bool draining) { draining_->store(draining); }
  bool is_draining() const { return draining_->load(); }

 private:
  struct Server;  // the front and its TLS context, private to admin_server.cpp
  std::shared_ptr<RouteTable> routes_;
  std::shared_ptr<SecurityState> security_;
  std::string tls_cert_, tls_key_;
  std::shared_ptr<std::atomic<bool>> draining_;
  std::unique_ptr<Server> server_;
  std::string bound_;
};

}  // namespace ferry::web
