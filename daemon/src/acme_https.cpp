#include "acme_https.h"

#include <Poco/Exception.h>
#include <Poco/Net/AcceptCertificateHandler.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/RejectCertificateHandler.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <mutex>
#include <sstream>

namespace ferry::daemon {

namespace {

// POCO's SSLManager asks its InvalidCertificateHandler what to do with a certificate that
// fails verification; its default would read the application's configuration (and could be
// a console prompt). Install "reject" once per process.
void init_ssl_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    Poco::Net::initializeSSL();
    Poco::SharedPtr<Poco::Net::InvalidCertificateHandler> reject = new Poco::Net::RejectCertificateHandler(false);
    Poco::Net::Context::Ptr none;
    Poco::Net::SSLManager::instance().initializeClient(nullptr, reject, none);
  });
}

}  // namespace

struct PocoHttpsTransport::Impl {
  Poco::Net::Context::Ptr context;
  std::string setup_error;  // non-empty: the context could not be built
  std::chrono::seconds timeout;
  // One keep-alive session per host:port (ACME talks to one or two hosts).
  std::string session_key;
  std::unique_ptr<Poco::Net::HTTPSClientSession> session;
};

PocoHttpsTransport::PocoHttpsTransport(const std::string& ca_bundle, std::chrono::seconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->timeout = timeout;
  try {
    init_ssl_once();
    impl_->context = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", "", ca_bundle,
                                            Poco::Net::Context::VERIFY_RELAXED, 9,
                                            /*loadDefaultCAs=*/ca_bundle.empty());
    impl_->context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
  } catch (const Poco::Exception& e) {
    impl_->setup_error = "TLS client setup" + (ca_bundle.empty() ? std::string() : " with ca-bundle " + ca_bundle) +
                         ": " + e.displayText();
  } catch (const std::exception& e) {
    impl_->setup_error = std::string("TLS client setup: ") + e.what();
  }
}

PocoHttpsTransport::~PocoHttpsTransport() = default;

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
      if (!m.session || m.session_key != key) {
        m.session = std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort(), m.context);
        m.session->setTimeout(Poco::Timespan(static_cast<long>(m.timeout.count()), 0));
        m.session->setKeepAlive(true);
        m.session_key = key;
      }
      Poco::Net::HTTPRequest req(method, uri.getPathEtc(), Poco::Net::HTTPMessage::HTTP_1_1);
      req.set("User-Agent", "ferryd-acme");
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
        acme::HttpResponse out;
        out.status = static_cast<int>(resp.getStatus());
        if (method != "HEAD") {
          std::ostringstream ss;
          Poco::StreamCopier::copyStream(is, ss, 8192);
          out.body = ss.str();
        }
        out.content_type = resp.getContentType();
        out.location = resp.get("Location", "");
        out.replay_nonce = resp.get("Replay-Nonce", "");
        out.retry_after = resp.get("Retry-After", "");
        if (!resp.getKeepAlive()) m.session.reset();
        return R::ok(std::move(out));
      } catch (const Poco::Net::NoMessageException&) {
        // A kept-alive connection the server had closed: one fresh attempt.
        m.session.reset();
        if (attempt == 1) throw;
      } catch (const Poco::Net::ConnectionResetException&) {
        m.session.reset();
        if (attempt == 1) throw;
      }
    }
    return R::fail(method + " " + url + ": no response");
  } catch (const Poco::Exception& e) {
    m.session.reset();
    return R::fail(method + " " + url + ": " + e.displayText());
  } catch (const std::exception& e) {
    m.session.reset();
    return R::fail(method + " " + url + ": " + e.what());
  }
}

}  // namespace ferry::daemon
