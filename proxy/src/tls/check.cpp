#include "ferry/proxy/certificates.h"

#include "tls/certificate.h"

namespace ferry::proxy {

CertificateCheck check_certificate_pem(const std::string& pem, const std::string& source_name) {
  tls::LoadResult r = tls::load_certificate_pem(pem, source_name);
  return {std::move(r.errors), std::move(r.warnings)};
}

}  // namespace ferry::proxy
