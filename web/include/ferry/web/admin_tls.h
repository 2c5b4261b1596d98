// The admin listener's TLS server context (`admin-tls CERT_PEM [KEY_PEM]`): TLS 1.2 or newer,
// no client certificates, the certificate chain and key from PEM files.
//
// Thread: any (Poco's SSL initialisation is done once, thread-safely). No exceptions escape
// check_admin_tls().
#pragma once

#include <string>

namespace ferry::web {

// Loads the files as the admin listener would; false with `error` set (e.g. "admin-tls
// /etc/ferry/admin.pem: ... no such file") when they are unusable (missing, not PEM, key
// not matching the certificate). Used by `ferryd -c`.
bool check_admin_tls(const std::string& cert_file, const std::string& key_file, std::string& error);

}  // namespace ferry::web
