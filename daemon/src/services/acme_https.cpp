#include "services/acme_https.h"

#include "services/tls_client.h"

#include <Poco/Exception.h>
#include <Poco/Net/AcceptCertificateHandler.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/RejectCertificateHandler.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/X509Certificate.h>
#include <openssl/x509v3.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/URI.h>

#include <sys/socket.h>

#include <mutex>

namespace ferry::daemon {

namespace {

constexpr size_t kMaxBody = 1 << 20;

}  // namespace

void TransportCancel::cancel() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

bool TransportCancel::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

struct PocoHttpsTransport::Impl {
  std::shared_ptr<TransportCancel> cancel;
  Poco::Net::Context::Ptr context;
  std::string setup_error;  // non-empty: the context could not be built
  std::chrono::seconds timeout;
  // One keep-alive session per host:port (ACME talks to one or two hosts).
  std::string session_key;
  std::unique_ptr<Poco::Net::HTTPClientSession> session;
  std::chrono::steady_clock::time_point last_used;
};

PocoHttpsTransport::PocoHttpsTransport(const std::string& ca_bundle, std::shared_ptr<TransportCancel> cancel,
                                       std::chrono::seconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->cancel = cancel ? std::move(cancel) : std::make_shared<TransportCancel>();
  impl_->timeout = timeout;
  try {
    impl_->context = client_context(ca_bundle);
  } catch (const Poco::Exception& e) {
    impl_->setup_error = "TLS client setup" + (ca_bundle.empty() ? std::string() : " with ca-bundle " + ca_bundle) +
                         ": " + e.displayText();
  } catch (const std::exception& e) {
    impl_->setup_error = std::string("TLS client setup: ") + e.what();
  }
}

PocoHttpsTransport::~PocoHttpsTransport() { reset_session(); }

void PocoHttpsTransport::reset_session() {
  Impl& m = *impl_;
  std::lock_guard lock(m.cancel->mu_);
  m.cancel->fd_ = -1;
  m.session.reset();  // closes the socket while cancel() cannot look at it
}

// Connects and handshakes on a socket registered with the cancel token first, so that every
// blocking step (connect, TLS handshake, later reads) can be interrupted by cancel().
void PocoHttpsTransport::connect(const std::string& host, unsigned short port) {
  Impl& m = *impl_;
  const Poco::Timespan timeout(static_cast<long>(m.timeout.count()), 0);
  Poco::Net::SocketAddress addr(host, port);
  Poco::Net::StreamSocket plain(addr.family());
  {
    std::lock_guard lock(m.cancel->mu_);
    if (m.cancel->cancelled_) throw Poco::Exception("stopped");
    m.cancel->fd_ = plain.impl()->sockfd();
  }
  try {
    plain.connect(addr, timeout);
    plain.setReceiveTimeout(timeout);
    plain.setSendTimeout(timeout);
    Poco::Net::SecureStreamSocket secure = attach_verified(plain, host, m.context);
    // A plain HTTPClientSession over the TLS socket (HTTPSClientSession's constructor from a
    // socket throws on a connected one). It must never reconnect by itself (it has no host):
    // exchange() makes a new connection when this one is idle or closed.
    auto session = std::make_unique<Poco::Net::HTTPClientSession>(secure);
    session->setTimeout(timeout);
    session->setKeepAlive(true);
    session->setKeepAliveTimeout(Poco::Timespan(3600, 0));
    std::lock_guard lock(m.cancel->mu_);
    m.session = std::move(session);
  } catch (...) {
    std::lock_guard lock(m.cancel->mu_);
    m.cancel->fd_ = -1;
    throw;  // `plain` closes the socket after the token forgot it
  }
}

acme::Result<acme::HttpResponse> PocoHttpsTransport::get(const std::string& url) { return exchange("GET", url, "", ""); }

acme::Result<acme::HttpResponse> PocoHttpsTransport::head(const std::string& url) {
  return exchange("HEAD", url, "", "");
}

acme::Result<acme::HttpResponse> PocoHttpsTransport::post_jose(const std::string& url, const std::string& body,
                                                               const std::string& accept) {
  return exchange("POST", url, body, accept);
}

acme::Result<acme::HttpResponse> PocoHttpsTransport::exchange(const std::string& method, const std::string& url,
                                                              const std::string& body, const std::string& accept) {
  using R = acme::Result<acme::HttpResponse>;
  Impl& m = *impl_;
  if (!m.setup_error.empty()) return R::fail(m.setup_error);
  try {
    Poco::URI uri(url);
    if (uri.getScheme() != "https") return R::fail("not an https URL: " + url);
    const std::string key = uri.getHost() + ":" + std::to_string(uri.getPort());
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (m.cancel->cancelled()) return R::fail("stopped");
      // Reuse a connection only while the server surely keeps it (Go servers: 90 s idle).
      const auto now = std::chrono::steady_clock::now();
      if (!m.session || m.session_key != key || now - m.last_used > std::chrono::seconds(20)) {
        reset_session();
        connect(uri.getHost(), uri.getPort());
        m.session_key = key;
      }
      Poco::Net::HTTPRequest req(method, uri.getPathEtc(), Poco::Net::HTTPMessage::HTTP_1_1);
      req.set("User-Agent", "ferryd-acme");
      req.setHost(uri.getHost(), uri.getPort());  // the session was made from a socket: no host of its own
      if (!accept.empty()) req.set("Accept", accept);
      if (method == "POST") {
        req.setContentType("application/jose+json");
        req.setContentLength(static_cast<std::streamsize>(body.size()));
      }
      try {
        std::ostream& os = m.session->sendRequest(req);
        if (!body.empty()) os << body;
        Poco::Net::HTTPResponse resp;
        std::istream& is = m.session->receiveResponse(resp);
        m.last_used = std::chrono::steady_clock::now();
        acme::HttpResponse out;
        out.status = static_cast<int>(resp.getStatus());
        if (method != "HEAD") {
          // ACME documents and certificate chains are a few KiB: refuse to buffer more.
          char buf[8192];
          while (is.read(buf, sizeof buf) || is.gcount() > 0) {
            out.body.append(buf, static_cast<size_t>(is.gcount()));
            if (out.body.size() > kMaxBody) {
              reset_session();
              return R::fail(method + " " + url + ": response larger than " + std::to_string(kMaxBody) + " bytes");
            }
          }
        }
        out.content_type = resp.getContentType();
        out.location = resp.get("Location", "");
        out.replay_nonce = resp.get("Replay-Nonce", "");
        out.retry_after = resp.get("Retry-After", "");
        if (!resp.getKeepAlive()) reset_session();
        return R::ok(std::move(out));
      } catch (const Poco::Net::NoMessageException&) {
        // A kept-alive connection the server had closed: one fresh attempt.
        reset_session();
        if (attempt == 1 || m.cancel->cancelled()) throw;
      } catch (const Poco::Net::ConnectionResetException&) {
        reset_session();
        if (attempt == 1 || m.cancel->cancelled()) throw;
      }
    }
    return R::fail(method + " " + url + ": no response");
  } catch (const Poco::Exception& e) {
    reset_session();
    if (m.cancel->cancelled()) return R::fail("stopped");
    return R::fail(method + " " + url + ": " + e.displayText());
  } catch (const std::exception& e) {
    reset_session();
    if (m.cancel->cancelled()) return R::fail("stopped");
    return R::fail(method + " " + url + ": " + e.what());
  }
}

}  // namespace ferry::daemon
