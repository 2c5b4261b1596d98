// The admin listener's front: one event-loop thread (standalone Asio) that owns every admin
// connection, and a pool of handler threads that only ever see complete requests.
//
// Per connection the loop does the TLS handshake (admin-tls), reads the request head within a
// total deadline counted from accept (handshake included) or, on a keep-alive connection, from
// its first byte, reads the body (Content-Length or chunked, up to `max_body`) within its own
// deadline, hands the request to the handler pool (POCO handlers through the RouterFactory,
// buffered_exchange.h), and writes the buffered response within a write deadline. A slow or
// silent client therefore costs a socket and a little memory, never a handler thread. Caps:
// connections per client address (IPv6: per /64) and in all (conn_table.h: the connection that
// has been waiting on its client the longest makes room for a new one), bytes of request bodies
// buffered at once, requests queued for a handler thread. Every close the front decides is
// logged with its reason, at most once a second per reason (with the count of the others).
// The limits are constants (Limits below; docs/API.md "Connection limits").
//
// Ownership: AdminServer owns one per running listener. Thread: start() and stop() on the
// control thread; everything else on the loop thread. Errors are reported by value.
#pragma once

#include <openssl/ssl.h>

#include <asio/awaitable.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "ferry/web/admin_server.h"
#include "front/buffered_exchange.h"
#include "front/conn_table.h"
#include "front/handler_pool.h"
#include "front/request_head.h"

namespace Poco::Net {
class HTTPRequestHandlerFactory;
}

namespace ferry::web::front {

struct Limits {
  size_t max_connections = 1024;  // in all; lowered to RLIMIT_NOFILE / 8 (at least 64) at start
  size_t max_per_client = 32;     // per client address (IPv6: per /64)
  std::chrono::milliseconds head_deadline{5000};   // TLS handshake + first head, from accept;
                                                   // later heads from their first byte
  std::chrono::milliseconds idle_timeout{5000};    // keep-alive: waiting for the next request
  std::chrono::milliseconds body_deadline{5000};   // plus 1 s per 64 KiB of declared body
  std::chrono::milliseconds write_deadline{10000}; // plus 1 s per 64 KiB of response
  std::chrono::milliseconds linger{2000};          // reading leftovers before a close
  size_t max_head = 32 * 1024;                     // request line + fields (431 above)
  uint64_t max_body = 1 << 20;                     // 413 above (the API's largest body)
  uint64_t body_budget = 64ull << 20;              // bodies being received at once (503 above)
  size_t handler_threads = 16;
  size_t max_queued = 64;                          // complete requests waiting for a thread (503)
  int max_requests_per_connection = 100;
};

class AdminFront {
 public:
  AdminFront(Limits limits, std::shared_ptr<Poco::Net::HTTPRequestHandlerFactory> factory,
             std::shared_ptr<const LogFunction> log);
  ~AdminFront();  // stop()s
  AdminFront(const AdminFront&) = delete;
  AdminFront& operator=(const AdminFront&) = delete;

  // Binds `endpoint` (SO_REUSEADDR, not SO_REUSEPORT), listens and starts the loop thread.
  // `tls`: serve TLS with new SSL objects from this context (it must outlive the front);
  // null = plain HTTP. Returns the bound endpoint, or nullopt with `error` set
  // ("bind: Address already in use"). Only once per object.
  std::optional<asio::ip::tcp::endpoint> start(const asio::ip::tcp::endpoint& endpoint, SSL_CTX* tls,
                                               std::string& error);

  // Closes the listener and every connection; running handlers finish (their answers are
  // dropped), queued ones are not run; joins every thread. Idempotent.
  void stop();

  const Limits& limits() const { return limits_; }

 private:
  struct Conn;
  class BodyReservation;

  asio::awaitable<void> accept_loop();
  void on_accept(asio::ip::tcp::socket socket);
  // The connection's coroutines: serve() reads, dispatches and writes requests in turn;
  // watchdog() enforces its deadline (Conn::timer): the first expiry cancels the pending
  // operation (the session may still answer 408 within a grace second), the next closes.
  asio::awaitable<void> serve(std::shared_ptr<Conn> c);
  asio::awaitable<void> serve_requests(std::shared_ptr<Conn> c);
  // Steps of serve_requests(). false: the connection is done (answered and closed as needed).
  asio::awaitable<bool> read_head(Conn& c, size_t& head_len);
  asio::awaitable<bool> read_body(Conn& c, const Framing& framing, PendingRequest& req, BodyReservation& reservation);
  // Queues the request on the pool and waits for the reply; nullopt: answered 503 or closed.
  asio::awaitable<std::optional<Reply>> run_handler(std::shared_ptr<Conn> c, std::shared_ptr<PendingRequest> req);
  asio::awaitable<void> watchdog(std::shared_ptr<Conn> c);
  // Appends up to `max` received bytes to c.in; an error also when closed or timed out.
  asio::awaitable<std::error_code> read_more(Conn& c, size_t max);
  asio::awaitable<std::error_code> write_all(Conn& c, const std::string& data);
  // Answers an error (Connection: close), logs `reason`, then closes after reading leftovers.
  asio::awaitable<void> fail(Conn& c, int status, const std::string& message, const char* reason,
                             int retry_after = 0);
  // After a deadline: answers `status` if the grace second allows, then closes at once.
  asio::awaitable<void> answer_timeout(Conn& c, int status, const std::string& message);
  // Half-closes and reads until the client closes or `linger` passes (a close with unread
  // bytes would reset the connection and could destroy the answer before the client reads it).
  asio::awaitable<void> linger_close(Conn& c);
  void set_deadline(Conn& c, std::chrono::milliseconds d);
  // Closes a connection now (socket, timers, table entry). Idempotent.
  void abort(Conn& c);
  // Logs `line` at most once a second per `reason`, with the number of lines held back.
  void note(const std::string& reason, const std::string& line, int priority);

  Limits limits_;
  std::shared_ptr<Poco::Net::HTTPRequestHandlerFactory> factory_;
  std::shared_ptr<const LogFunction> log_;
  SSL_CTX* tls_ = nullptr;

  asio::io_context io_{1};
  asio::ip::tcp::acceptor acceptor_{io_};
  std::unique_ptr<asio::steady_timer> accept_pause_;  // after EMFILE and the like
  HandlerPool pool_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;
  bool started_ = false;

  // Loop thread only:
  ConnTable table_;
  std::unordered_map<ConnTable::Id, std::shared_ptr<Conn>> conns_;
  uint64_t body_reserved_ = 0;
  bool stopping_ = false;
  struct Report {
    std::chrono::steady_clock::time_point last{};
    uint64_t suppressed = 0;
    std::string held_line;  // the latest line held back
    int held_priority = 0;
    std::unique_ptr<asio::steady_timer> flush;  // reports the held-back count
  };
  std::unordered_map<std::string, Report> reports_;
};

}  // namespace ferry::web::front
