#include "ferry/web/admin_server.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Message.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/ThreadPool.h>

#include <mutex>

#include "admin_tls_context.h"
#include "console_routes.h"
#include "route_table.h"
#include "security_state.h"

namespace ferry::web {

namespace {

constexpr int kMinThreads = 2;
// One thread per open connection (POCO): enough that a few idle or slow clients do not hold
// every thread while /healthz and the console wait.
constexpr int kMaxThreads = 16;
constexpr int kMaxQueued = 64;  // accepted connections waiting for a thread
constexpr int kBacklog = 64;
const Poco::Timespan kIoTimeout(10, 0);        // per read/write on a connection
const Poco::Timespan kKeepAliveTimeout(5, 0);  // idle time between requests
constexpr int kMaxKeepAliveRequests = 100;

std::string format_address(const Poco::Net::SocketAddress& sa) {
  std::string host = sa.host().toString();
  if (sa.family() == Poco::Net::SocketAddress::IPv6) host = "[" + host + "]";
  return host + ":" + std::to_string(sa.port());
}

}  // namespace

// Declaration order matters: the server is destroyed before the pool it borrows threads from.
struct AdminServer::Server {
  Poco::ThreadPool pool{kMinThreads, kMaxThreads, 60, 0};
  std::unique_ptr<Poco::Net::HTTPServer> http;
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
    Poco::Net::IPAddress ip(addr.host.empty() ? std::string("0.0.0.0") : addr.host);
    Poco::Net::SocketAddress sa(ip, addr.port);
    bool tls = !tls_cert_.empty();
    Poco::Net::ServerSocket socket = tls ? Poco::Net::SecureServerSocket(make_tls_context(tls_cert_, tls_key_))
                                         : Poco::Net::ServerSocket();
    // SO_REUSEADDR only: SO_REUSEPORT would let a second ferryd share the port silently.
    socket.bind(sa, /*reuseAddress=*/true, /*reusePort=*/false);
    socket.listen(kBacklog);

    auto params = new Poco::Net::HTTPServerParams;  // ref-counted, owned by the server
    params->setMaxThreads(kMaxThreads);
    params->setMaxQueued(kMaxQueued);
    params->setTimeout(kIoTimeout);
    params->setKeepAlive(true);
    params->setKeepAliveTimeout(kKeepAliveTimeout);
    params->setMaxKeepAliveRequests(kMaxKeepAliveRequests);
    params->setServerName("ferryd");
    params->setSoftwareVersion("ferryd/" FERRY_VERSION);

    auto srv = std::make_unique<Server>();
    srv->http = std::make_unique<Poco::Net::HTTPServer>(new RouterFactory(routes_, security_), srv->pool,
                                                         socket, params);
    uint16_t port = socket.address().port();
    security_->tls = tls;
    {
      std::lock_guard lock(security_->mu);
      security_->rules.bound_host = ip.toString();
      security_->rules.port = port;
      security_->rules.tls = tls;
    }
    srv->http->start();
    bound_ = format_address(socket.address());
    server_ = std::move(srv);
    return port;
  } catch (const Poco::Exception& e) {
    error = "admin " + addr.to_string() + ": " + e.displayText();
  } catch (const std::exception& e) {
    error = "admin " + addr.to_string() + ": " + e.what();
  }
  return std::nullopt;
}

void AdminServer::stop() {
  if (!server_) return;
  try {
    server_->http->stopAll(/*abortCurrent=*/true);
  } catch (...) {
    // stopping is best effort; the destructors below still release the socket
  }
  server_->http.reset();
  server_->pool.joinAll();
  server_.reset();
  bound_.clear();
}

}  // namespace ferry::web
