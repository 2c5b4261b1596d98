// A connection's byte stream: a TCP socket, with or without TLS over it. Code that moves
// bytes (HTTP/1 sessions, bodies, tunnels, upstream connections) reads and writes a Stream
// and does not care which it is; code that needs the socket itself (connect, PROXY headers,
// socket options, peeks) uses socket().
//
// Models asio's AsyncReadStream and AsyncWriteStream, so asio::async_write and friends work.
// Plain streams cost one branch per operation over a bare socket.
//
// TLS runs directly on the socket (net/tls_conn.h: OpenSSL reads and writes it, the loop only
// waits for readiness), with no record buffers of our own.
//
// Ownership: a Stream owns its socket and, after start_server_tls(), its SSL. Worker thread
// only; at most one read and one write may be pending at a time (as for a socket).
#pragma once

#include <functional>
#include <memory>
#include <algorithm>
#include <span>
#include <string>
#include <system_error>
#include <utility>

#include "net/asio_util.h"
#include "net/read_hint.h"
#include "net/tls_conn.h"

namespace ferry::proxy {

// A byte stream that is not a socket of ours: e.g. one HTTP/2 stream to an upstream presented
// as an HTTP/1.1 byte stream (upstream/h2_upstream). Each call completes its handler exactly
// once and never inline (through the worker's loop), like a socket operation.
class PipeEnd {
 public:
  using Handler = std::function<void(std::error_code, size_t)>;
  virtual ~PipeEnd() = default;
  virtual void read_some(asio::mutable_buffer b, Handler h) = 0;
  virtual void write_some(asio::const_buffer b, Handler h) = 0;
  // Pending operations complete with operation_aborted.
  virtual void cancel() = 0;
};

class Stream {
 public:
  using executor_type = tcp::socket::executor_type;

  explicit Stream(tcp::socket sock) : sock_(std::move(sock)) {}
  explicit Stream(asio::any_io_executor ex) : sock_(std::move(ex)) {}
  Stream(asio::any_io_executor ex, std::unique_ptr<PipeEnd> pipe) : sock_(std::move(ex)), pipe_(std::move(pipe)) {}

  // The TCP socket (inside the TLS layer once TLS started).
  tcp::socket& socket() { return tls_ ? tls_->sock : sock_; }
  executor_type get_executor() { return socket().get_executor(); }
  bool is_tls() const { return tls_ != nullptr; }
  SSL* ssl() { return tls_ ? tls_->ssl : nullptr; }

  // Puts TLS over the socket, server side: `ssl` (from the listener's front context; owned
  // from now on) and `prefix`, bytes already read from the socket that belong to the TLS
  // stream. Then call handshake().
  void start_server_tls(SSL* ssl, std::string prefix);
  // Puts TLS over a connected socket, client side (`ssl` owned from now on; SNI and name
  // checks already set on it). Then call handshake().
  void start_client_tls(SSL* ssl);
  // The TLS handshake; the caller's deadline bounds it by cancelling the socket.
  awaitable<std::error_code> handshake();

  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& b, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, size_t)>(
        [this](auto handler, const MutableBuffers& b) {
          if (pipe_) {
            auto h = std::make_shared<decltype(handler)>(std::move(handler));
            pipe_->read_some(first_buffer(b), [h](std::error_code ec, size_t n) { (*h)(ec, n); });
          } else if (tls_) {
            asio::mutable_buffer mb = first_buffer(b);
            TlsConn* t = tls_.get();
            auto step = [t, mb](size_t& n) { return mb.size() ? SSL_read_ex(t->ssl, mb.data(), mb.size(), &n) : 1; };
            TlsIoOp<decltype(handler), decltype(step)>(t, step, std::move(handler))();
          } else {
            sock_.async_read_some(b, std::move(handler));
            read_queued_ = read_hint::read_queued(sock_);  // else it completed at once (posted)
          }
        },
        token, b);
  }

  // Plain sockets: lets read_done mark this socket (it needs the reactor to report a peer's
  // end of stream, EPOLLRDHUP: one epoll_ctl, the first time). For a connection that will
  // read again and again (keep-alive). TLS and pipes: nothing.
  void watch_hangup() {
    if (!tls_ && !pipe_) read_hint::watch_hangup(sock_);
  }
  // After a read returned `n` of `asked` bytes, on a socket that had no other operation
  // pending meanwhile (HTTP/1: a parked connection, a request or response head): a plain
  // socket's read that came from the reactor with fewer bytes than asked emptied the socket,
  // and the reactor is told so (net/read_hint.h; after watch_hangup, and unless the peer's
  // end of stream came with it): the next read waits for new bytes without a recv() that
  // fails. Call it in the read's handler or right after its co_await, before anything else
  // can run. TLS and pipes: nothing.
  void read_done(size_t n, size_t asked) {
    if (std::exchange(read_queued_, false) && n > 0 && n < asked) read_hint::mark_drained(sock_);
  }

  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& b, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, size_t)>(
        [this](auto handler, const ConstBuffers& b) {
          if (pipe_) {
            auto h = std::make_shared<decltype(handler)>(std::move(handler));
            pipe_->write_some(first_buffer(b), [h](std::error_code ec, size_t n) { (*h)(ec, n); });
          } else if (tls_) {
            TlsConn* t = tls_.get();
            auto step = [t, b](size_t& n) { return tls_write_joined(t->ssl, b, n); };
            TlsIoOp<decltype(handler), decltype(step)>(t, step, std::move(handler))();
          } else {
            sock_.async_write_some(b, std::move(handler));
          }
        },
        token, b);
  }

  // Writes what the connection takes at once, without waiting: the bytes written (maybe
  // fewer than given). `ec`: the send error; asio::error::would_block when nothing was taken
  // (then write the same bytes again with async_write: TLS may hold part of a record), and
  // always on a pipe. On TLS, one SSL_write_ex of up to 16 KiB; on a plain socket one send()
  // (several small buffers copied into one) or one sendmsg(). For a caller that would
  // otherwise build a coroutine and an operation for a write that completes at once (the
  // common case on an idle connection).
  size_t try_write(std::span<const asio::const_buffer> bufs, std::error_code& ec);
  // try_write on a plain socket joins up to this many bytes of several buffers into one send().
  static constexpr size_t kJoinAtMost = 4096;
  // try_write until all of `b` is written or the connection must wait: the bytes written.
  // `ec`: clear when all went, would_block when the rest must go with async_write, else the
  // error.
  size_t write_now(asio::const_buffer b, std::error_code& ec);
  // Moves `bufs` past their first `n` bytes (what try_write took), for writing the rest.
  static void advance(std::span<asio::const_buffer> bufs, size_t n) {
    for (auto& b : bufs) {
      const size_t k = std::min(n, b.size());
      b += k;
      n -= k;
    }
  }

  // Ends our sending side gracefully: TLS close_notify (not waiting for the peer's), then a
  // TCP half-close. Errors are of no interest here.
  awaitable<void> shutdown_send();
  void cancel() {
    if (pipe_) return pipe_->cancel();
    std::error_code ignored;
    socket().cancel(ignored);
  }
  void close() {
    if (pipe_) return pipe_->cancel();
    std::error_code ignored;
    socket().close(ignored);
  }
  bool is_open() { return pipe_ || socket().is_open(); }
  bool is_pipe() const { return pipe_ != nullptr; }

 private:
  // Pipes and TLS move one buffer per operation (asio's composed operations loop as with
  // sockets).
  template <typename Buffers>
  static auto first_buffer(const Buffers& bufs) {
    for (auto it = asio::buffer_sequence_begin(bufs); it != asio::buffer_sequence_end(bufs); ++it)
      if (it->size()) return *it;
    return *asio::buffer_sequence_begin(bufs);
  }

  tcp::socket sock_;              // the socket until TLS starts; then a closed placeholder
  std::unique_ptr<TlsConn> tls_;  // owns the socket once TLS started
  std::unique_ptr<PipeEnd> pipe_;  // instead of the socket, for a pipe stream
  bool read_queued_ = false;       // the last plain read waited in the reactor (read_done)
  bool client_ = false;            // TLS client side (handshake direction)
};

}  // namespace ferry::proxy
