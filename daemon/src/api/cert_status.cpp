#include "api/cert_status.h"

namespace ferry::daemon {

// TODO(issue 6, api): files and the AcmeManager's status.
std::vector<CertStatus> certificate_status(const ApiContext&) { return {}; }

}  // namespace ferry::daemon
