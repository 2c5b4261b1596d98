// TLS directly on a connection's non-blocking socket: OpenSSL reads and writes the socket
// itself (through a minimal BIO, tls_conn.cpp), and the event loop is asked only to wait for
// readiness when OpenSSL would block. No intermediate buffers: asio::ssl::stream's memory-BIO
// design kept two 17 KiB record buffers plus a 2 x 17 KiB BIO pair per connection for its whole
// life (73 KiB per idle TLS connection measured, `bench/run memory`) and copied every record
// through them. With SSL_MODE_RELEASE_BUFFERS (tls/server_context.cpp) an idle connection now
// holds only OpenSSL's SSL object.
//
// Ownership: a TlsConn owns its socket and its SSL. It lives on the heap (Stream holds it by
// unique_ptr), so the BIO's pointer to it and pending operations stay valid when the Stream
// that owns it is moved. Worker thread only.
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <string>
#include <system_error>

#include <asio/ssl/error.hpp>  // the error codes TLS reads report (stream_truncated)

#include "net/asio_util.h"

namespace ferry::proxy {

struct TlsConn {
  // `ssl` (owned from now on) runs over `sock`; `prefix`: bytes already read from the socket
  // that belong to the TLS stream (e.g. after a PROXY header), returned before the socket's.
  TlsConn(tcp::socket sock, SSL* ssl, std::string prefix);
  ~TlsConn();
  TlsConn(const TlsConn&) = delete;
  TlsConn& operator=(const TlsConn&) = delete;

  // What one SSL call left to do. `want_read` / `want_write`: wait for that readiness and
  // call again. `ec` (else): done with this error (eof after the peer's close_notify,
  // asio::ssl::error::stream_truncated for an EOF without one, the socket's errno, or an
  // OpenSSL error code in asio's ssl category, as asio::ssl::stream reported them).
  enum class Next { done, want_read, want_write };
  // `ret` is the SSL call's return value (> 0: success).
  Next classify(int ret, std::error_code& ec);

  tcp::socket sock;
  SSL* ssl;
  std::string prefix;
  size_t prefix_off = 0;
  bool eof = false;    // the socket returned 0 bytes
  int last_errno = 0;  // the socket's error behind an SSL_ERROR_SYSCALL
};

// This thread's buffer for joining a write's buffers into one: one TLS record (16 KiB), or
// one send() on a plain socket (Stream::kJoinAtMost).
asio::mutable_buffer write_join_scratch();

// One SSL_write_ex of a buffer sequence, as asio::ssl did: a single buffer goes directly,
// several (a head and a body) are joined into one record of up to 16 KiB in
// write_join_scratch() (again on a retry: the same bytes, as OpenSSL wants). Returns
// SSL_write_ex's result with `n` the bytes taken; an empty sequence returns 1 with n = 0.
template <typename ConstBuffers>
int tls_write_joined(SSL* ssl, const ConstBuffers& b, size_t& n) {
  n = 0;
  const size_t total = asio::buffer_size(b);
  if (total == 0) return 1;
  const asio::const_buffer first = *asio::buffer_sequence_begin(b);
  if (first.size() == total) return SSL_write_ex(ssl, first.data(), total, &n);
  const asio::mutable_buffer flat = write_join_scratch();
  return SSL_write_ex(ssl, flat.data(), asio::buffer_copy(flat, b), &n);
}

// One TLS read or write as an asio operation: runs the SSL call, waits on the socket while it
// wants readiness, then completes the handler with (error, bytes). Never completes inline:
// an immediate result is posted. The handler's executor and cancellation slot apply to the
// readiness waits (cancel() on the socket aborts them with operation_aborted).
template <typename Handler, typename Step>
struct TlsIoOp {
  TlsIoOp(TlsConn* conn, Step s, Handler handler)
      : t(conn), io_ex(conn->sock.get_executor()), step(std::move(s)), h(std::move(handler)) {}
  TlsConn* t;
  tcp::socket::executor_type io_ex;  // kept: asking `t` would outlive a destroyed stream
  Step step;  // int(size_t& n): one SSL_read_ex / SSL_write_ex, returns its result
  Handler h;
  bool waited = false;

  using executor_type = asio::associated_executor_t<Handler, tcp::socket::executor_type>;
  executor_type get_executor() const { return asio::get_associated_executor(h, io_ex); }
  using cancellation_slot_type = asio::associated_cancellation_slot_t<Handler>;
  cancellation_slot_type get_cancellation_slot() const { return asio::get_associated_cancellation_slot(h); }

  void operator()(std::error_code ec = {}) {
    size_t n = 0;
    if (!ec) {
      ERR_clear_error();
      const int ret = step(n);
      if (ret > 0) {
        ec = {};
      } else {
        n = 0;
        switch (t->classify(ret, ec)) {
          case TlsConn::Next::want_read:
            waited = true;
            t->sock.async_wait(tcp::socket::wait_read, std::move(*this));
            return;
          case TlsConn::Next::want_write:
            waited = true;
            t->sock.async_wait(tcp::socket::wait_write, std::move(*this));
            return;
          case TlsConn::Next::done:
            break;
        }
      }
    }
    if (waited) {
      std::move(h)(ec, n);
    } else {
      auto ex = get_executor();
      asio::post(ex, [h = std::move(h), ec, n]() mutable { std::move(h)(ec, n); });
    }
  }
};

}  // namespace ferry::proxy
