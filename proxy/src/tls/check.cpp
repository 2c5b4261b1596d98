#include "ferry/proxy/certificates.h"

#include "tls/certificate.h"

namespace ferry::proxy {

CertificateCheck check_certificate_file(const std::string& path) {
  tls::LoadResult r = tls::load_certificate_file(path);
  return {std::move(r.errors), std::move(r.warnings)};
}

}  // namespace ferry::proxy
