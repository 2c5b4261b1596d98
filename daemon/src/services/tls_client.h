// TLS client sockets over POCO NetSSL for the daemon's own HTTPS clients (the ACME transport,
// the etcd catalog client): one place that sets up OpenSSL through POCO, builds a client
// context, and verifies the server, both its chain (in the handshake) and that its certificate
// names the host dialled (checked here with X509_check_host/ip: POCO skips that for a socket
// it is handed).
//
// Any thread. Errors are POCO exceptions (the callers catch them and report a reason).
#pragma once

#include <Poco/Net/Context.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/StreamSocket.h>

#include <string>

namespace ferry::daemon {

// POCO's SSLManager asks its InvalidCertificateHandler what to do with a certificate that
// fails verification; its default would read the application's configuration (and could be a
// console prompt). Installs "reject" once per process.
void init_ssl_once();

// A TLS 1.2+ client context that verifies the server against `ca_file` (PEM), or the system's
// CAs when empty, and presents `cert`/`key` (PEM files) when given. Throws on unreadable files.
Poco::Net::Context::Ptr client_context(const std::string& ca_file, const std::string& cert = {},
                                       const std::string& key = {});

// Handshakes over the connected `plain` socket and checks that the server's certificate is
// valid for `host` (a DNS name or an IP literal). Throws on failure.
Poco::Net::SecureStreamSocket attach_verified(Poco::Net::StreamSocket& plain, const std::string& host,
                                              Poco::Net::Context::Ptr context);

}  // namespace ferry::daemon
