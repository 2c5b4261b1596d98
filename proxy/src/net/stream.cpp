#include "net/stream.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace ferry::proxy {

void Stream::start_server_tls(SSL* ssl, std::string prefix) {
  tls_ = std::make_unique<TlsConn>(std::move(sock_), ssl, std::move(prefix));
}

void Stream::start_client_tls(SSL* ssl) {
  tls_ = std::make_unique<TlsConn>(std::move(sock_), ssl, std::string());
  client_ = true;
}

namespace {

// Repeats one non-blocking SSL call until it returns > 0 (done: no error) or fails for good
// (its error), waiting between tries for the readiness it asks for; a cancelled wait (the
// caller's deadline) ends it with the wait's error. `may_read` false: a call that wants to
// read has nothing more to do here, and ends without error.
template <class Call>
awaitable<std::error_code> ssl_until_done(TlsConn& t, Call call, bool may_read = true) {
  for (;;) {
    ERR_clear_error();
    const int ret = call();
    if (ret > 0) co_return std::error_code();
    std::error_code ec;
    const TlsConn::Next next = t.classify(ret, ec);
    if (next == TlsConn::Next::done) co_return ec;
    if (next == TlsConn::Next::want_read && !may_read) co_return std::error_code();
    auto [wec] = co_await t.sock.async_wait(next == TlsConn::Next::want_read ? tcp::socket::wait_read
                                                                             : tcp::socket::wait_write,
                                            use_nothrow);
    if (wec) co_return wec;
  }
}

}  // namespace

awaitable<std::error_code> Stream::handshake() {
  TlsConn& t = *tls_;
  if (client_) SSL_set_connect_state(t.ssl);
  else SSL_set_accept_state(t.ssl);
  co_return co_await ssl_until_done(t, [&] { return SSL_do_handshake(t.ssl); });
}

awaitable<void> Stream::shutdown_send() {
  std::error_code ignored;
  if (!socket().is_open()) co_return;
  if (tls_) {
    // Our close_notify. SSL_shutdown returns 0 once it is sent (the peer's is not awaited: a
    // client that already left never sends one); it wants to write only when the socket is
    // full, which the caller's deadline bounds. A failure still ends in the TCP half-close.
    SSL* ssl = tls_->ssl;
    co_await ssl_until_done(
        *tls_,
        [ssl] {
          const int ret = SSL_shutdown(ssl);
          return ret >= 0 ? 1 : ret;
        },
        false);
    if (!socket().is_open()) co_return;
  }
  socket().shutdown(tcp::socket::shutdown_send, ignored);
}

size_t Stream::try_write(std::span<const asio::const_buffer> bufs, std::error_code& ec) {
  ec = asio::error::would_block;
  if (pipe_ || bufs.empty()) return 0;
  if (tls_) {
    // One SSL_write_ex, as async_write_some's step does. Partial writes are enabled, and a
    // write that wants to wait reports nothing taken: the caller's retry passes the same
    // bytes again, as OpenSSL needs.
    size_t n = 0;
    ERR_clear_error();
    const int ret = tls_write_joined(tls_->ssl, bufs, n);
    if (ret > 0) {
      ec.clear();
      return n;
    }
    std::error_code err;
    if (tls_->classify(ret, err) == TlsConn::Next::done) ec = err ? err : asio::error::broken_pipe;
    return 0;
  }
  // Plain: one send() where the bytes are one buffer, or few enough to copy into one (a head
  // and a small body: on loopback send() of one buffer costs ~0.13 us less kernel time than
  // sendmsg() of an iovec, and a copy of a few KiB less than that); sendmsg() otherwise.
  std::array<iovec, 8> iov;
  size_t n = 0, total = 0;
  for (const auto& b : bufs) {
    if (n == iov.size()) break;
    if (b.size()) iov[n++] = {const_cast<void*>(b.data()), b.size()}, total += b.size();
  }
  if (n == 0) {
    ec.clear();
    return 0;
  }
  const void* one = n == 1 ? iov[0].iov_base : nullptr;
  if (n > 1 && total <= kJoinAtMost) {
    char* flat = static_cast<char*>(write_join_scratch().data());
    for (size_t i = 0, off = 0; i < n; off += iov[i].iov_len, ++i) std::memcpy(flat + off, iov[i].iov_base, iov[i].iov_len);
    one = flat;
  }
  ssize_t r;
  if (one) {
    do r = ::send(sock_.native_handle(), one, total, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (r < 0 && errno == EINTR);
  } else {
    msghdr msg{};
    msg.msg_iov = iov.data();
    msg.msg_iovlen = n;
    do r = ::sendmsg(sock_.native_handle(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (r < 0 && errno == EINTR);
  }
  if (r >= 0) {
    ec.clear();
    return static_cast<size_t>(r);
  }
  if (errno != EAGAIN && errno != EWOULDBLOCK) ec = std::error_code(errno, asio::error::get_system_category());
  return 0;
}

size_t Stream::write_now(asio::const_buffer b, std::error_code& ec) {
  size_t done = 0;
  ec.clear();
  while (b.size() && !ec) {
    const size_t n = try_write({&b, 1}, ec);
    b += n;
    done += n;
  }
  return done;
}

}  // namespace ferry::proxy
