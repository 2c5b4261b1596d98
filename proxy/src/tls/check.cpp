#include "ferry/proxy/certificates.h"

#include "tls/certificate.h"
#include "tls/client_context.h"
#include "tls/sni_map.h"

namespace ferry::proxy {

CertificateCheck check_certificate_file(const std::string& path) {
  tls::LoadResult r = tls::load_certificate_file(path);
  return {std::move(r.errors), std::move(r.warnings)};
}

CertificateCheck check_certificate_pem(const std::string& pem, const std::string& source_name) {
  tls::LoadResult r = tls::load_certificate_pem(pem, source_name);
  return {std::move(r.errors), std::move(r.warnings)};
}

std::string check_server_name(const std::string& host) { return tls::SniMap::validate(host); }

std::string check_ca_file(const std::string& path) {
  std::string error;
  return tls::make_client_ctx(path, true, &error) ? std::string() : error;
}

}  // namespace ferry::proxy
