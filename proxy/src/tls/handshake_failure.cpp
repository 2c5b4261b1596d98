#include "tls/handshake_failure.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <asio/ssl/error.hpp>

namespace ferry::proxy::tls {

HandshakeFailure classify_handshake_failure(const std::error_code& ec, bool timed_out) {
  if (timed_out) return HandshakeFailure::timeout;
  // stream_truncated (EOF without close_notify) is asio's own code in the stream category.
  if (ec.category() != asio::error::get_ssl_category()) return HandshakeFailure::other;
  // select_on_client_hello (sni_select.cpp) answering SSL_CLIENT_HELLO_ERROR.
  if (ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CALLBACK_FAILED)
    return HandshakeFailure::no_certificate;
  return HandshakeFailure::protocol;
}

}  // namespace ferry::proxy::tls
