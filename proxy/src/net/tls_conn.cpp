#include "net/tls_conn.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

namespace ferry::proxy {

namespace {

// The BIO: reads return the prefix first, then recv(); writes are send() with MSG_NOSIGNAL.
// Would-block sets the retry flags, so OpenSSL reports WANT_READ / WANT_WRITE.
int bio_read(BIO* b, char* out, size_t len, size_t* got) {
  auto* t = static_cast<TlsConn*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  if (t->prefix_off < t->prefix.size()) {
    const size_t n = std::min(len, t->prefix.size() - t->prefix_off);
    std::memcpy(out, t->prefix.data() + t->prefix_off, n);
    t->prefix_off += n;
    if (t->prefix_off == t->prefix.size()) std::string().swap(t->prefix), t->prefix_off = 0;
    *got = n;
    return 1;
  }
  for (;;) {
    const ssize_t n = ::recv(t->sock.native_handle(), out, len, 0);
    if (n > 0) {
      *got = static_cast<size_t>(n);
      return 1;
    }
    if (n == 0) {
      t->eof = true;
      return 0;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_read(b);
    else t->last_errno = errno;
    return 0;
  }
}

int bio_write(BIO* b, const char* in, size_t len, size_t* put) {
  auto* t = static_cast<TlsConn*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  for (;;) {
    const ssize_t n = ::send(t->sock.native_handle(), in, len, MSG_NOSIGNAL);
    if (n >= 0) {
      *put = static_cast<size_t>(n);
      return 1;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_write(b);
    else t->last_errno = errno;
    return 0;
  }
}

long bio_ctrl(BIO* b, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;  // nothing buffered here
    case BIO_CTRL_EOF:
      return static_cast<TlsConn*>(BIO_get_data(b))->eof ? 1 : 0;
    default:
      return 0;
  }
}

int bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

int bio_destroy(BIO*) { return 1; }  // the TlsConn owns what the data points to

BIO_METHOD* socket_method() {
  static BIO_METHOD* const m = [] {
    BIO_METHOD* meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "ferry socket");
    BIO_meth_set_read_ex(meth, bio_read);
    BIO_meth_set_write_ex(meth, bio_write);
    BIO_meth_set_ctrl(meth, bio_ctrl);
    BIO_meth_set_create(meth, bio_create);
    BIO_meth_set_destroy(meth, bio_destroy);
    return meth;
  }();
  return m;
}

}  // namespace

asio::mutable_buffer write_join_scratch() {
  thread_local std::array<char, 16 * 1024> flat;  // one TLS record's payload
  return asio::buffer(flat);
}

TlsConn::TlsConn(tcp::socket s, SSL* ssl_, std::string pre) : sock(std::move(s)), ssl(ssl_), prefix(std::move(pre)) {
  // OpenSSL's recv/send on it must never block the worker. Accepted sockets (accept4) and
  // connected ones (asio's async connect) already are non-blocking: no ioctl for them.
  std::error_code ignored;
  if (!sock.native_non_blocking()) sock.native_non_blocking(true, ignored);
  BIO* bio = BIO_new(socket_method());
  if (bio) {
    BIO_set_data(bio, this);
    SSL_set_bio(ssl, bio, bio);  // one BIO both ways; freed with the SSL
  }
  // Partial writes: a write completes with what one record took (write_some semantics); the
  // caller may retry with the rest from a buffer that moved.
  SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // Read what the socket has in one recv (up to OpenSSL's record buffer), not a record's
  // 5-byte header and then its body in two.
  SSL_set_read_ahead(ssl, 1);
}

TlsConn::~TlsConn() { SSL_free(ssl); }

TlsConn::Next TlsConn::classify(int ret, std::error_code& ec) {
  switch (SSL_get_error(ssl, ret)) {
    case SSL_ERROR_WANT_READ:
      return Next::want_read;
    case SSL_ERROR_WANT_WRITE:
      return Next::want_write;
    case SSL_ERROR_ZERO_RETURN:  // the peer's close_notify
      ec = asio::error::eof;
      return Next::done;
    case SSL_ERROR_SYSCALL:
      if (last_errno) ec = std::error_code(last_errno, asio::error::get_system_category());
      else ec = asio::ssl::error::stream_truncated;
      ERR_clear_error();
      return Next::done;
    default: {
      const unsigned long e = ERR_get_error();
      ERR_clear_error();
      if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) ec = asio::ssl::error::stream_truncated;
      else ec = std::error_code(static_cast<int>(e), asio::error::get_ssl_category());
      if (!ec) ec = asio::ssl::error::unspecified_system_error;
      return Next::done;
    }
  }
}

}  // namespace ferry::proxy
