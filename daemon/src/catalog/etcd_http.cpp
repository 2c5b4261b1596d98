#include "catalog/etcd_http.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/URI.h>

#include <sys/socket.h>

#include <atomic>

#include "catalog/etcd_wire.h"
#include "services/tls_client.h"

namespace ferry::daemon::catalog {

namespace {

constexpr std::chrono::seconds kCallTimeout{5};
constexpr size_t kMaxBody = size_t(256) << 20;

Poco::Timespan span(std::chrono::milliseconds ms) { return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(ms.count()) * 1000); }

}  // namespace

struct EtcdHttp::Impl {
  config::Catalog cfg;
  std::string password;
  Poco::Net::Context::Ptr tls;  // built on first https:// use
  std::string tls_error;        // non-empty: the TLS files could not be loaded
  std::string token;            // etcd auth token; empty = none yet
  std::atomic<size_t> index{0};  // the endpoint in use (status() reads it from other threads)
  std::unique_ptr<Poco::Net::HTTPClientSession> session;
  std::string session_host;  // Host header of the session's endpoint

  std::mutex mu;  // guards fd and cancelled (cancel() from other threads)
  int fd = -1;
  bool cancelled = false;
  bool interrupted = false;  // cancel(false) since the current call began

  void reset() {
    std::lock_guard lock(mu);
    fd = -1;
    session.reset();
  }
  void next() {
    reset();
    index.store((index.load() + 1) % cfg.etcd.size());
  }

  // Connects to the current endpoint (throws POCO exceptions).
  void connect() {
    Poco::URI uri(cfg.etcd[index]);
    const bool https = uri.getScheme() == "https";
    if (https && !tls) {
      if (!tls_error.empty()) throw Poco::Exception(tls_error);
      try {
        tls = client_context(cfg.ca_file, cfg.cert, cfg.key);
      } catch (const Poco::Exception& e) {
        tls_error = "TLS client setup for etcd: " + e.displayText();
        throw Poco::Exception(tls_error);
      }
    }
    Poco::Net::SocketAddress addr(uri.getHost(), uri.getPort());
    Poco::Net::StreamSocket plain(addr.family());
    {
      std::lock_guard lock(mu);
      if (cancelled || interrupted) throw Poco::Exception("stopped");
      fd = plain.impl()->sockfd();
    }
    try {
      plain.connect(addr, span(kCallTimeout));
      plain.setNoDelay(true);
      plain.setKeepAlive(true);
      std::unique_ptr<Poco::Net::HTTPClientSession> s;
      if (https) {
        plain.setReceiveTimeout(span(kCallTimeout));
        plain.setSendTimeout(span(kCallTimeout));
        Poco::Net::SecureStreamSocket secure = attach_verified(plain, uri.getHost(), tls);
        s = std::make_unique<Poco::Net::HTTPClientSession>(secure);
      } else {
        s = std::make_unique<Poco::Net::HTTPClientSession>(plain);
      }
      s->setKeepAlive(true);
      s->setKeepAliveTimeout(Poco::Timespan(3600, 0));
      std::lock_guard lock(mu);
      session = std::move(s);
      session_host = uri.getHost() + ":" + std::to_string(uri.getPort());
    } catch (...) {
      std::lock_guard lock(mu);
      fd = -1;
      throw;
    }
  }

  // One request on a connected session; returns the response's stream (throws).
  std::istream& send(const std::string& path, const std::string& body, Poco::Net::HTTPResponse& resp,
                     std::chrono::milliseconds timeout, bool with_token) {
    session->setTimeout(span(kCallTimeout), span(kCallTimeout), span(timeout));
    Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_POST, path, Poco::Net::HTTPMessage::HTTP_1_1);
    req.set("Host", session_host);
    req.set("User-Agent", "ferryd-catalog");
    req.setContentType("application/json");
    req.setContentLength(static_cast<std::streamsize>(body.size()));
    if (with_token && !token.empty()) req.set("Authorization", token);
    std::ostream& os = session->sendRequest(req);
    os << body;
    return session->receiveResponse(resp);
  }

  static bool read_all(std::istream& is, std::string& out) {
    char buf[16384];
    out.clear();
    while (is.read(buf, sizeof buf) || is.gcount() > 0) {
      out.append(buf, static_cast<size_t>(is.gcount()));
      if (out.size() > kMaxBody) return false;
    }
    return true;
  }

  // One unary exchange on the current endpoint (connecting first); throws on transport errors.
  void exchange(const std::string& path, const std::string& body, Reply& reply, bool with_token) {
    if (!session) connect();
    Poco::Net::HTTPResponse resp;
    std::istream& is = send(path, body, resp, kCallTimeout, with_token);
    reply.status = static_cast<int>(resp.getStatus());
    if (!read_all(is, reply.body)) throw Poco::Exception("etcd's answer is larger than 256 MiB");
    if (!resp.getKeepAlive()) reset();
  }

  // Fetches a token when authentication is configured and none is held. Throws on transport
  // errors; false with `error` when etcd refuses.
  bool authenticate(std::string& error) {
    if (cfg.user.empty() || !token.empty()) return true;
    Reply r;
    exchange("/v3/auth/authenticate", etcd::auth_body(cfg.user, password), r, false);
    if (r.status != 200) {
      error = "etcd refused user " + cfg.user + ": " + etcd::error_text(r.body);
      return false;
    }
    return etcd::parse_token(r.body, token, error);
  }

  bool begin() {
    std::lock_guard lock(mu);
    interrupted = false;
    return !cancelled;
  }
};

EtcdHttp::EtcdHttp(const config::Catalog& cfg, std::string password) : impl_(std::make_unique<Impl>()) {
  impl_->cfg = cfg;
  impl_->password = std::move(password);
}

EtcdHttp::~EtcdHttp() { impl_->reset(); }

const std::string& EtcdHttp::endpoint() const { return impl_->cfg.etcd[impl_->index]; }

void EtcdHttp::cancel(bool forever) {
  std::lock_guard lock(impl_->mu);
  impl_->interrupted = true;
  if (forever) impl_->cancelled = true;
  if (impl_->fd >= 0) ::shutdown(impl_->fd, SHUT_RDWR);
}

bool EtcdHttp::call(const std::string& path, const std::string& body, Reply& reply) {
  Impl& m = *impl_;
  if (m.cfg.etcd.empty()) return reply.error = "no etcd endpoint", false;
  if (!m.begin()) return reply.error = "stopped", false;
  bool reauthenticated = false;
  for (size_t tries = 0; tries <= m.cfg.etcd.size();) {  // once more: a kept connection the server closed
    reply = Reply{};
    try {
      if (!m.authenticate(reply.error)) return false;
      m.exchange(path, body, reply, true);
      if (reply.status == 401 && !m.cfg.user.empty() && !reauthenticated) {
        m.token.clear();  // expired or revoked: once more with a new one
        reauthenticated = true;
        continue;
      }
      if (reply.status == 200) return true;
      reply.error = "etcd " + endpoint() + " answered " + std::to_string(reply.status) + ": " + etcd::error_text(reply.body);
      return false;
    } catch (const Poco::Exception& e) {
      reply.error = "etcd " + endpoint() + ": " + e.displayText();
    } catch (const std::exception& e) {
      reply.error = "etcd " + endpoint() + ": " + e.what();
    }
    m.next();
    ++tries;
    std::lock_guard lock(m.mu);
    if (m.cancelled || m.interrupted) return reply.error = "stopped", false;
  }
  return false;
}

EtcdHttp::StreamEnd EtcdHttp::stream(const std::string& path, const std::string& body, std::chrono::milliseconds idle,
                                     const std::function<bool(std::string_view)>& on_line, std::string& error) {
  Impl& m = *impl_;
  if (m.cfg.etcd.empty()) return error = "no etcd endpoint", StreamEnd::failed;
  if (!m.begin()) return error = "stopped", StreamEnd::stopped;
  try {
    if (!m.authenticate(error)) return StreamEnd::failed;
    if (!m.session) m.connect();
    Poco::Net::HTTPResponse resp;
    std::istream& is = m.send(path, body, resp, idle, true);
    if (resp.getStatus() != Poco::Net::HTTPResponse::HTTP_OK) {
      std::string text;
      Impl::read_all(is, text);
      if (resp.getStatus() == Poco::Net::HTTPResponse::HTTP_UNAUTHORIZED) m.token.clear();
      error = "etcd " + endpoint() + " answered " + std::to_string(static_cast<int>(resp.getStatus())) + ": " +
              etcd::error_text(text);
      m.reset();
      return StreamEnd::failed;
    }
    std::string line;
    while (std::getline(is, line)) {
      if (line.empty()) continue;
      if (!on_line(line)) {
        m.reset();
        return StreamEnd::stopped;
      }
    }
    const Poco::Exception* net = m.session ? m.session->networkException() : nullptr;
    const bool timed_out = net && dynamic_cast<const Poco::TimeoutException*>(net) != nullptr;
    m.reset();
    {
      std::lock_guard lock(m.mu);
      if (m.cancelled || m.interrupted) return error = "stopped", StreamEnd::stopped;
    }
    if (timed_out) return StreamEnd::timed_out;
    if (net) {
      error = "etcd " + endpoint() + ": " + net->displayText();
      m.next();
      return StreamEnd::failed;
    }
    return StreamEnd::closed;
  } catch (const Poco::TimeoutException&) {
    m.reset();
    return StreamEnd::timed_out;
  } catch (const Poco::Exception& e) {
    error = "etcd " + endpoint() + ": " + e.displayText();
  } catch (const std::exception& e) {
    error = "etcd " + endpoint() + ": " + e.what();
  }
  m.next();
  std::lock_guard lock(m.mu);
  if (m.cancelled || m.interrupted) return error = "stopped", StreamEnd::stopped;
  return StreamEnd::failed;
}

}  // namespace ferry::daemon::catalog
