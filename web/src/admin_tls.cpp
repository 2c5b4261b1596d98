#include "ferry/web/admin_tls.h"

#include <Poco/Exception.h>
#include <Poco/Net/SSLManager.h>

#include <exception>
#include <mutex>

#include "admin_tls_context.h"

namespace ferry::web {

Poco::Net::Context::Ptr make_tls_context(const std::string& cert, const std::string& key) {
  static std::once_flag once;
  std::call_once(once, [] { Poco::Net::initializeSSL(); });
  Poco::Net::Context::Params params;
  params.privateKeyFile = key;
  params.certificateFile = cert;
  params.verificationMode = Poco::Net::Context::VERIFY_NONE;
  params.loadDefaultCAs = false;
  params.cipherList = "HIGH:!aNULL:!MD5:!RC4:!3DES";
  Poco::Net::Context::Ptr ctx = new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, params);
  ctx->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
  ctx->enableSessionCache(true, "ferryd-admin");
  return ctx;
}

bool check_admin_tls(const std::string& cert_file, const std::string& key_file, std::string& error) {
  try {
    make_tls_context(cert_file, key_file.empty() ? cert_file : key_file);
    return true;
  } catch (const Poco::Exception& e) {
    error = "admin-tls " + cert_file + ": " + e.displayText();
  } catch (const std::exception& e) {
    error = "admin-tls " + cert_file + ": " + e.what();
  }
  return false;
}

}  // namespace ferry::web
