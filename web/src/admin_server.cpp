#include "ferry/web/admin_server.h"

#include <Poco/Exception.h>
#include <Poco/Message.h>

#include <asio/ip/address.hpp>
#include <mutex>

#include "admin_tls_context.h"
#include "console_routes.h"
#include "front/admin_front.h"
#include "route_table.h"
#include "security_state.h"

namespace ferry::web {

namespace {

std::string format_address(const asio::ip::tcp::endpoint& ep) {
  std::string host = ep.address().to_string();
  if (ep.address().is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(ep.port());
}

}  // namespace

// The event-loop front (front/admin_front.h) and the TLS context its connections use; the
// front is declared last so it stops before the context goes.
struct AdminServer::Server {
  Poco::Net::Context::Ptr tls;  // null: plain HTTP
  std::unique_ptr<front::AdminFront> front;
};

AdminServer::AdminServer()
    : routes_(std::make_shared<RouteTable>()),
      security_(std::make_shared<SecurityState>()),
      draining_(std::make_shared<std::atomic<bool>>(false)) {
  // Built-in routes. Handlers capture shared state by shared_ptr, never `this`.
  add_route("GET", "/healthz", Access::open,
            [draining = draining_](const RequestContext&, Poco::Net::HTTPServerRequest&,
                                   Poco::Net::HTTPServerResponse& resp) {
              if (draining->load())
                send_text(resp, 503, "draining\n");
              else
                send_text(resp, 200, "ok\n");
            });
  register_auth_routes(*this, security_);
  register_console_routes(*routes_);  // GET /, /console/*, /vendor/chart.js (open)
}

AdminServer::~AdminServer() { stop(); }

void AdminServer::add_route(std::string method, std::string path, Access access, Handler handler) {
  routes_->add(Route{std::move(method), std::move(path), access, std::move(handler)});
}

void AdminServer::set_security(AdminSecurity security) {
  std::vector<std::string> ended;
  {
    std::lock_guard lock(security_->mu);
    security_->rules.names = security.hosts;
    ended = security_->sessions.retain(security.users);
    security_->security = std::move(security);
  }
  for (const std::string& user : ended)
    security_->write_log(Poco::Message::PRIO_NOTICE,
                         "admin session ended user=" + user + " reason=user removed or password changed");
}

void AdminServer::set_tls(std::string cert_file, std::string key_file) {
  tls_cert_ = std::move(cert_file);
  tls_key_ = key_file.empty() ? tls_cert_ : std::move(key_file);
}

void AdminServer::set_log(LogFunction log) {
  security_->log = log ? std::make_shared<const LogFunction>(std::move(log)) : nullptr;
}

std::optional<uint16_t> AdminServer::start(const config::Address& addr, std::string& error) {
  if (server_) {
    error = "admin server already running on " + bound_;
    return std::nullopt;
  }
  try {
    std::error_code ec;
    asio::ip::address ip = asio::ip::make_address(addr.host.empty() ? std::string("0.0.0.0") : addr.host, ec);
    if (ec) {
      error = "admin " + addr.to_string() + ": not an IP address";
      return std::nullopt;
    }
    auto srv = std::make_unique<Server>();
    bool tls = !tls_cert_.empty();
    if (tls) srv->tls = make_tls_context(tls_cert_, tls_key_);  // throws on unusable files
    srv->front = std::make_unique<front::AdminFront>(front::Limits{}, std::make_shared<RouterFactory>(routes_, security_),
                                                     security_->log);
    std::string why;
    auto bound = srv->front->start(asio::ip::tcp::endpoint(ip, addr.port), tls ? srv->tls->sslContext() : nullptr, why);
    if (!bound) {
      error = "admin " + addr.to_string() + ": " + why;
      return std::nullopt;
    }
    security_->tls = tls;
    {
      std::lock_guard lock(security_->mu);
      security_->rules.bound_host = ip.to_string();
      security_->rules.port = bound->port();
      security_->rules.tls = tls;
    }
    bound_ = format_address(*bound);
    server_ = std::move(srv);
    return bound->port();
  } catch (const Poco::Exception& e) {
    error = "admin " + addr.to_string() + ": " + e.displayText();
  } catch (const std::exception& e) {
    error = "admin " + addr.to_string() + ": " + e.what();
  }
  return std::nullopt;
}

void AdminServer::stop() {
  if (!server_) return;
  server_->front->stop();
  server_.reset();
  bound_.clear();
}

}  // namespace ferry::web
