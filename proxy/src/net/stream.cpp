#include "net/stream.h"

namespace ferry::proxy {

void Stream::start_server_tls(SSL* ssl, std::string prefix) {
  tls_ = std::make_unique<TlsConn>(std::move(sock_), ssl, std::move(prefix));
}

void Stream::start_client_tls(SSL* ssl) {
  tls_ = std::make_unique<TlsConn>(std::move(sock_), ssl, std::string());
  client_ = true;
}

awaitable<std::error_code> Stream::handshake() {
  TlsConn& t = *tls_;
  if (client_) SSL_set_connect_state(t.ssl);
  else SSL_set_accept_state(t.ssl);
  for (;;) {
    ERR_clear_error();
    const int ret = SSL_do_handshake(t.ssl);
    if (ret == 1) co_return std::error_code();
    std::error_code ec;
    const TlsConn::Next next = t.classify(ret, ec);
    if (next == TlsConn::Next::done) co_return ec;
    auto [wec] = co_await t.sock.async_wait(next == TlsConn::Next::want_read ? tcp::socket::wait_read
                                                                             : tcp::socket::wait_write,
                                            use_nothrow);
    if (wec) co_return wec;  // cancelled: the caller's deadline
  }
}

awaitable<void> Stream::shutdown_send() {
  std::error_code ignored;
  if (!socket().is_open()) co_return;
  if (tls_) {
    // Our close_notify. SSL_shutdown returns 0 once it is sent (the peer's is not awaited: a
    // client that already left never sends one); it wants to write only when the socket is
    // full, which the caller's deadline bounds.
    for (;;) {
      ERR_clear_error();
      const int ret = SSL_shutdown(tls_->ssl);
      if (ret >= 0) break;
      std::error_code ec;
      if (tls_->classify(ret, ec) != TlsConn::Next::want_write) break;
      auto [wec] = co_await tls_->sock.async_wait(tcp::socket::wait_write, use_nothrow);
      if (wec) break;
    }
    if (!socket().is_open()) co_return;
  }
  socket().shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace ferry::proxy
