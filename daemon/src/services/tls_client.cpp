#include "services/tls_client.h"

#include <Poco/Net/IPAddress.h>
#include <Poco/Net/RejectCertificateHandler.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/X509Certificate.h>
#include <openssl/x509v3.h>

#include <mutex>

namespace ferry::daemon {

void init_ssl_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    Poco::Net::initializeSSL();
    Poco::SharedPtr<Poco::Net::InvalidCertificateHandler> reject = new Poco::Net::RejectCertificateHandler(false);
    Poco::Net::Context::Ptr none;
    Poco::Net::SSLManager::instance().initializeClient(nullptr, reject, none);
  });
}

Poco::Net::Context::Ptr client_context(const std::string& ca_file, const std::string& cert, const std::string& key) {
  init_ssl_once();
  // VERIFY_RELAXED = SSL_VERIFY_PEER for a client: the chain is verified in the handshake.
  Poco::Net::Context::Ptr ctx = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, key, cert, ca_file,
                                                       Poco::Net::Context::VERIFY_RELAXED, 9,
                                                       /*loadDefaultCAs=*/ca_file.empty());
  ctx->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
  return ctx;
}

Poco::Net::SecureStreamSocket attach_verified(Poco::Net::StreamSocket& plain, const std::string& host,
                                              Poco::Net::Context::Ptr context) {
  Poco::Net::SecureStreamSocket secure = Poco::Net::SecureStreamSocket::attach(plain, host, context);
  const Poco::Net::X509Certificate cert = secure.peerCertificate();  // owns the X509 below
  X509* peer = const_cast<X509*>(cert.certificate());  // OpenSSL 3.0's checks take non-const
  Poco::Net::IPAddress ip;
  const bool name_ok = Poco::Net::IPAddress::tryParse(host, ip)
                           ? X509_check_ip_asc(peer, host.c_str(), 0) == 1
                           : X509_check_host(peer, host.c_str(), host.size(), 0, nullptr) == 1;
  if (!name_ok) throw Poco::Net::CertificateValidationException("the server's certificate is not valid for " + host);
  return secure;
}

}  // namespace ferry::daemon
