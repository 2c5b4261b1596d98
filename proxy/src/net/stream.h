// A connection's byte stream: a TCP socket, with or without TLS over it. Code that moves
// bytes (HTTP/1 sessions, bodies, tunnels, upstream connections) reads and writes a Stream
// and does not care which it is; code that needs the socket itself (connect, PROXY headers,
// socket options, peeks) uses socket().
//
// Models asio's AsyncReadStream and AsyncWriteStream, so asio::async_write and friends work.
// Plain streams cost one branch per operation over a bare socket.
//
// TLS uses asio::ssl::stream (OpenSSL through memory BIOs) rather than a hand-written
// SSL-on-fd layer: it is maintained, composes with every asio operation, and never loses
// bytes on a partial write. Its price is two 17 KiB record buffers per TLS connection.
//
// Ownership: a Stream owns its socket and, after start_server_tls(), its SSL. Worker thread
// only; at most one read and one write may be pending at a time (as for a socket).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <system_error>

#include <asio/ssl/stream.hpp>

#include "net/asio_util.h"

namespace ferry::proxy {

// The layer under TLS: the socket, but reads first return `prefix` (bytes read from the
// socket before TLS started, e.g. after a PROXY protocol header).
class PrefixedSocket {
 public:
  using executor_type = tcp::socket::executor_type;
  using lowest_layer_type = tcp::socket::lowest_layer_type;

  PrefixedSocket(tcp::socket sock, std::string prefix) : sock_(std::move(sock)), prefix_(std::move(prefix)) {}

  tcp::socket& socket() { return sock_; }
  lowest_layer_type& lowest_layer() { return sock_.lowest_layer(); }
  executor_type get_executor() { return sock_.get_executor(); }

  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& b, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, size_t)>(
        [this](auto handler, const MutableBuffers& b) {
          if (prefix_.empty()) return sock_.async_read_some(b, std::move(handler));
          size_t n = asio::buffer_copy(b, asio::buffer(prefix_));
          prefix_.erase(0, n);
          // Completes through the handler's executor, never inline (asio's rule).
          asio::post(sock_.get_executor(), [h = std::move(handler), n]() mutable { std::move(h)(std::error_code{}, n); });
        },
        token, b);
  }

  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& b, Token&& token) {
    return sock_.async_write_some(b, std::forward<Token>(token));
  }

 private:
  tcp::socket sock_;
  std::string prefix_;
};

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
  using Tls = asio::ssl::stream<PrefixedSocket>;

  explicit Stream(tcp::socket sock) : sock_(std::move(sock)) {}
  explicit Stream(asio::any_io_executor ex) : sock_(std::move(ex)) {}
  Stream(asio::any_io_executor ex, std::unique_ptr<PipeEnd> pipe) : sock_(std::move(ex)), pipe_(std::move(pipe)) {}

  // The TCP socket (inside the TLS layer once TLS started).
  tcp::socket& socket() { return tls_ ? tls_->next_layer().socket() : sock_; }
  executor_type get_executor() { return socket().get_executor(); }
  bool is_tls() const { return tls_ != nullptr; }
  SSL* ssl() { return tls_ ? tls_->native_handle() : nullptr; }

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
          } else if (tls_) tls_->async_read_some(b, std::move(handler));
          else sock_.async_read_some(b, std::move(handler));
        },
        token, b);
  }

  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& b, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, size_t)>(
        [this](auto handler, const ConstBuffers& b) {
          if (pipe_) {
            auto h = std::make_shared<decltype(handler)>(std::move(handler));
            pipe_->write_some(first_buffer(b), [h](std::error_code ec, size_t n) { (*h)(ec, n); });
          } else if (tls_) tls_->async_write_some(b, std::move(handler));
          else sock_.async_write_some(b, std::move(handler));
        },
        token, b);
  }

  // Ends our sending side gracefully: TLS close_notify (waiting for the peer's at most as long
  // as the caller's deadline allows), then a TCP half-close. Errors are of no interest here.
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
  // Pipes move one buffer per operation (asio's composed operations loop as with sockets).
  template <typename Buffers>
  static auto first_buffer(const Buffers& bufs) {
    for (auto it = asio::buffer_sequence_begin(bufs); it != asio::buffer_sequence_end(bufs); ++it)
      if (it->size()) return *it;
    return *asio::buffer_sequence_begin(bufs);
  }

  tcp::socket sock_;          // the socket until TLS starts; then a closed placeholder
  std::unique_ptr<Tls> tls_;  // owns the socket once TLS started
  std::unique_ptr<PipeEnd> pipe_;  // instead of the socket, for a pipe stream
  bool client_ = false;            // TLS client side (handshake direction)
};

}  // namespace ferry::proxy
