// Why a downstream TLS handshake failed, for the per-frontend failure counters
// (ferry_frontend_tls_handshake_failures_total{reason=...}).
// Pure function, any thread, no exceptions.
#pragma once

#include <system_error>

namespace ferry::proxy::tls {

enum class HandshakeFailure : int {
  no_certificate = 0,  // the ClientHello callback refused it: SNI matched no certificate and
                       // there is no default (or an acme-tls/1 hello for no pending challenge)
  protocol = 1,        // any other TLS-level error: version, cipher, bad record, fatal alert
  timeout = 2,         // `timeout http-request` passed during the handshake
  other = 3,           // the connection closed or failed below TLS (EOF, reset)
};
inline constexpr const char* kHandshakeFailureNames[] = {"no-certificate", "protocol", "timeout", "other"};

// `ec` as returned by Stream::handshake() (asio's ssl category carries the OpenSSL error
// code); `timed_out` when the caller's deadline fired (it cancels the socket, so `ec` alone
// reads as operation_aborted).
HandshakeFailure classify_handshake_failure(const std::error_code& ec, bool timed_out);

}  // namespace ferry::proxy::tls
