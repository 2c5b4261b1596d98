#include "net/stream.h"

namespace ferry::proxy {

void Stream::start_server_tls(SSL* ssl, std::string prefix) {
  tls_ = std::make_unique<Tls>(PrefixedSocket(std::move(sock_), std::move(prefix)), ssl);
}

void Stream::start_client_tls(SSL* ssl) {
  tls_ = std::make_unique<Tls>(PrefixedSocket(std::move(sock_), {}), ssl);
  client_ = true;
}

awaitable<std::error_code> Stream::handshake() {
  auto [ec] = co_await tls_->async_handshake(client_ ? asio::ssl::stream_base::client : asio::ssl::stream_base::server,
                                             use_nothrow);
  co_return ec;
}

awaitable<void> Stream::shutdown_send() {
  std::error_code ignored;
  if (!socket().is_open()) co_return;
  if (tls_) {
    // close_notify; asio then waits for the peer's, which a client that already left never
    // sends: the caller's deadline cuts that short.
    co_await tls_->async_shutdown(use_nothrow);
    if (!socket().is_open()) co_return;
  }
  socket().shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace ferry::proxy
