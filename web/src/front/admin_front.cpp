#include "front/admin_front.h"

#include <Poco/Message.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/SocketAddress.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <algorithm>
#include <exception>
#include <future>
#include <vector>

#include "front/buffered_exchange.h"
#include "front/request_head.h"

namespace ferry::web::front {

namespace {

using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::chrono::milliseconds kGrace{1000};  // after a deadline: time to send the 408
constexpr int kBacklog = 256;
constexpr size_t kHeadRead = 4096;
constexpr size_t kBodyRead = 16384;

std::chrono::milliseconds per_64k(uint64_t bytes) {
  return std::chrono::milliseconds(bytes * 1000 / 65536);
}

enum class Phase { handshake, head, idle, body, handler, write, linger };

// What a deadline in this phase is called in the log; null: not logged (an idle keep-alive
// connection or a lingering close ending is normal).
const char* timeout_reason(Phase p) {
  switch (p) {
    case Phase::handshake: return "handshake-timeout";
    case Phase::head: return "head-timeout";
    case Phase::body: return "body-timeout";
    case Phase::write: return "write-timeout";
    default: return nullptr;
  }
}

}  // namespace

struct AdminFront::Conn {
  Conn(asio::io_context& io, tcp::socket s) : sock(std::move(s)), timer(io), wake(io) {}

  ConnTable::Id id = 0;
  std::string key;  // client_key() of the peer
  tcp::endpoint remote, local;
  tcp::socket sock;
  asio::steady_timer timer;  // the current deadline (watchdog)
  asio::steady_timer wake;   // cancelled when a handler's reply arrives
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls;
  std::string in;  // received and not yet consumed
  Phase phase = Phase::handshake;
  bool closed = false;
  bool timed_out = false;
  std::optional<Reply> reply;
  bool reply_cancelled = false;
};

// Bytes of request body the front holds (or will hold) for one request, against
// Limits::body_budget. Loop thread.
class AdminFront::BodyReservation {
 public:
  explicit BodyReservation(AdminFront& f) : f_(f) {}
  ~BodyReservation() { f_.body_reserved_ -= bytes_; }
  bool take(uint64_t bytes) {
    if (f_.body_reserved_ + bytes > f_.limits_.body_budget) return false;
    f_.body_reserved_ += bytes;
    bytes_ += bytes;
    return true;
  }

 private:
  AdminFront& f_;
  uint64_t bytes_ = 0;
};

AdminFront::AdminFront(Limits limits, std::shared_ptr<Poco::Net::HTTPRequestHandlerFactory> factory,
                       std::shared_ptr<const LogFunction> log)
    : limits_(limits),
      factory_(std::move(factory)),
      log_(std::move(log)),
      pool_(limits.handler_threads, limits.max_queued),
      table_(limits.max_connections, limits.max_per_client) {}

AdminFront::~AdminFront() { stop(); }

std::optional<tcp::endpoint> AdminFront::start(const tcp::endpoint& endpoint, SSL_CTX* tls, std::string& error) {
  if (started_ || stopping_) {
    error = "already started";
    return std::nullopt;
  }
  std::error_code ec;
  // Close-on-exec like the data plane's listeners: a child process never inherits it.
  int fd = ::socket(endpoint.protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = "socket: " + std::error_code(errno, std::system_category()).message();
    return std::nullopt;
  }
  acceptor_.assign(endpoint.protocol(), fd, ec);
  if (ec) {
    ::close(fd);
    error = "socket: " + ec.message();
    return std::nullopt;
  }
  // SO_REUSEADDR only: SO_REUSEPORT would let a second ferryd share the port silently.
  acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (ec) {
    error = "bind: " + ec.message();
    acceptor_.close(ec);
    return std::nullopt;
  }
  acceptor_.listen(kBacklog, ec);
  tcp::endpoint bound = ec ? tcp::endpoint() : acceptor_.local_endpoint(ec);
  if (ec) {
    error = "listen: " + ec.message();
    acceptor_.close(ec);
    return std::nullopt;
  }

  // Every connection is a descriptor: stay well inside the process's limit.
  size_t cap = limits_.max_connections;
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY)
    cap = std::max<size_t>(64, std::min<size_t>(cap, static_cast<size_t>(lim.rlim_cur / 8)));
  limits_.max_connections = cap;
  table_ = ConnTable(cap, limits_.max_per_client);
  tls_ = tls;

  work_.emplace(io_.get_executor());
  asio::co_spawn(io_, accept_loop(), asio::detached);
  thread_ = std::thread([this] {
    for (;;) {
      try {
        io_.run();
        return;
      } catch (const std::exception& e) {
        note("internal-error", std::string("admin front: ") + e.what(), Poco::Message::PRIO_ERROR);
      } catch (...) {
        note("internal-error", "admin front: unknown exception", Poco::Message::PRIO_ERROR);
      }
    }
  });
  started_ = true;
  return bound;
}

void AdminFront::stop() {
  if (!started_) return;
  started_ = false;
  std::promise<void> closed;
  asio::post(io_, [this, &closed] {
    stopping_ = true;
    std::error_code ec;
    acceptor_.close(ec);
    if (accept_pause_) accept_pause_->cancel();
    for (auto& [reason, report] : reports_)
      if (report.flush) report.flush->cancel();
    std::vector<std::shared_ptr<Conn>> all;
    for (auto& [id, c] : conns_) all.push_back(c);
    for (auto& c : all) abort(*c);
    closed.set_value();
  });
  closed.get_future().wait();
  pool_.stop();  // running handlers finish; their replies find their connection closed
  work_.reset();
  thread_.join();  // the loop ends once every coroutine has seen its connection closed
}

void AdminFront::note(const std::string& reason, const std::string& line, int priority) {
  if (!log_ || !*log_) return;
  auto now = Clock::now();
  Report& r = reports_[reason];
  if (r.last != Clock::time_point{} && now - r.last < std::chrono::seconds(1)) {
    // Held back; a timer reports the count (with the latest line) when the second is over.
    ++r.suppressed;
    r.held_line = line;
    r.held_priority = priority;
    if (!r.flush) {
      r.flush = std::make_unique<asio::steady_timer>(io_, r.last + std::chrono::seconds(1));
      r.flush->async_wait([this, reason](std::error_code ec) {
        Report& held = reports_[reason];
        std::unique_ptr<asio::steady_timer> done = std::move(held.flush);  // freed after this handler
        if (ec || stopping_ || held.suppressed == 0) return;
        note(reason, held.held_line, held.held_priority);
      });
    }
    return;
  }
  std::string text = line;
  if (r.suppressed) text += " (" + std::to_string(r.suppressed) + " like it in the last second)";
  r.last = now;
  r.suppressed = 0;
  (*log_)(priority, text);
}

asio::awaitable<void> AdminFront::accept_loop() {
  for (;;) {
    auto [ec, sock] = co_await acceptor_.async_accept(use_nothrow);
    if (stopping_ || !acceptor_.is_open()) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      note("accept-error", "admin accept failed: " + ec.message(), Poco::Message::PRIO_WARNING);
      // Out of descriptors or memory: pause instead of spinning; the backlog keeps the rest.
      accept_pause_ = std::make_unique<asio::steady_timer>(io_, std::chrono::milliseconds(100));
      co_await accept_pause_->async_wait(use_nothrow);
      continue;
    }
    on_accept(std::move(sock));
  }
}

void AdminFront::on_accept(tcp::socket sock) {
  std::error_code ec;
  tcp::endpoint remote = sock.remote_endpoint(ec);
  if (ec) return;  // already gone
  tcp::endpoint local = sock.local_endpoint(ec);
  ::fcntl(sock.native_handle(), F_SETFD, FD_CLOEXEC);
  sock.set_option(tcp::no_delay(true), ec);
  std::string key = client_key(remote.address());

  ConnTable::Admission a = table_.admit(key);
  if (a.limit != ConnTable::Limit::none) {
    const char* reason = a.limit == ConnTable::Limit::per_client ? "address-limit" : "connection-limit";
    if (a.evict) {
      std::string victim = key;
      if (auto it = conns_.find(*a.evict); it != conns_.end()) {
        std::shared_ptr<Conn> keep = it->second;
        victim = keep->key;
        abort(*keep);
      }
      note(reason, std::string("admin connection closed reason=") + reason + " address=" + victim,
           Poco::Message::PRIO_WARNING);
    } else {
      note(reason, std::string("admin connection refused reason=") + reason + " address=" + key,
           Poco::Message::PRIO_WARNING);
    }
  }
  if (!a.accept) {
    sock.close(ec);
    return;
  }
  auto c = std::make_shared<Conn>(io_, std::move(sock));
  c->key = std::move(key);
  c->remote = remote;
  c->local = local;
  c->id = table_.add(c->key);
  conns_.emplace(c->id, c);
  c->timer.expires_after(limits_.head_deadline);  // handshake and first head, from accept
  asio::co_spawn(io_, watchdog(c), asio::detached);
  asio::co_spawn(io_, serve(c), asio::detached);
}

void AdminFront::abort(Conn& c) {
  if (c.closed) return;
  c.closed = true;
  std::error_code ec;
  c.sock.close(ec);
  c.timer.cancel();
  c.wake.cancel();
  table_.remove(c.id);
  conns_.erase(c.id);  // callers hold their own reference
}

void AdminFront::set_deadline(Conn& c, std::chrono::milliseconds d) {
  if (!c.timed_out) c.timer.expires_after(d);  // after a timeout only the grace period runs
}

asio::awaitable<void> AdminFront::watchdog(std::shared_ptr<Conn> c) {
  while (!c->closed) {
    co_await c->timer.async_wait(use_nothrow);
    if (c->closed) break;
    if (c->timer.expiry() > Clock::now()) continue;  // moved (or cancelled by a new deadline)
    if (!c->timed_out) {
      c->timed_out = true;
      if (const char* reason = timeout_reason(c->phase))
        note(reason, std::string("admin connection closed reason=") + reason + " address=" + c->key,
             Poco::Message::PRIO_NOTICE);
      std::error_code ec;
      c->sock.cancel(ec);
      c->timer.expires_after(kGrace);
    } else {
      abort(*c);
    }
  }
}

asio::awaitable<std::error_code> AdminFront::read_more(Conn& c, size_t max) {
  if (c.closed || c.timed_out) co_return asio::error::operation_aborted;
  size_t old = c.in.size();
  c.in.resize(old + max);
  asio::mutable_buffer buf(c.in.data() + old, max);
  std::error_code ec;
  size_t n = 0;
  if (c.tls)
    std::tie(ec, n) = co_await c.tls->async_read_some(buf, use_nothrow);
  else
    std::tie(ec, n) = co_await c.sock.async_read_some(buf, use_nothrow);
  c.in.resize(old + n);
  if (!ec && (c.closed || c.timed_out)) ec = asio::error::operation_aborted;
  co_return ec;
}

asio::awaitable<std::error_code> AdminFront::write_all(Conn& c, const std::string& data) {
  if (c.closed) co_return asio::error::operation_aborted;
  std::error_code ec;
  if (c.tls)
    std::tie(ec, std::ignore) = co_await asio::async_write(*c.tls, asio::buffer(data), use_nothrow);
  else
    std::tie(ec, std::ignore) = co_await asio::async_write(c.sock, asio::buffer(data), use_nothrow);
  if (!ec && c.closed) ec = asio::error::operation_aborted;
  co_return ec;
}

asio::awaitable<void> AdminFront::fail(Conn& c, int status, const std::string& message, const char* reason,
                                       int retry_after) {
  note(reason, std::string("admin connection closed reason=") + reason + " address=" + c.key,
       status == 503 ? Poco::Message::PRIO_WARNING : Poco::Message::PRIO_NOTICE);
  std::string answer = error_response(status, message, true, retry_after);
  c.phase = Phase::linger;  // a slow reader of the answer is not a "write-timeout" worth a line
  set_deadline(c, limits_.linger);
  if (co_await write_all(c, answer)) co_return;
  co_await linger_close(c);
}

asio::awaitable<void> AdminFront::answer_timeout(Conn& c, int status, const std::string& message) {
  if (c.closed) co_return;
  std::string answer = error_response(status, message, true);
  co_await write_all(c, answer);  // within the watchdog's grace period
  abort(c);
}

asio::awaitable<void> AdminFront::linger_close(Conn& c) {
  std::error_code ec;
  c.sock.shutdown(tcp::socket::shutdown_send, ec);
  c.phase = Phase::linger;
  set_deadline(c, limits_.linger);
  c.in.clear();
  while (!c.closed && !co_await read_more(c, kHeadRead)) c.in.clear();
  abort(c);
}

asio::awaitable<void> AdminFront::serve(std::shared_ptr<Conn> c) {
  try {
    co_await serve_requests(c);
  } catch (const std::exception& e) {
    note("internal-error", std::string("admin connection failed: ") + e.what(), Poco::Message::PRIO_ERROR);
  }
  abort(*c);
}

asio::awaitable<bool> AdminFront::read_head(Conn& c, size_t& head_len) {
  size_t scanned = 0;
  HeadScan scan;
  for (;;) {
    if (size_t n = skip_leading_crlf(c.in)) {
      c.in.erase(0, n);
      scanned = 0;
    }
    if (!c.in.empty()) {
      if (c.phase == Phase::idle) {  // a keep-alive connection's next head: timed from its first byte
        c.phase = Phase::head;
        set_deadline(c, limits_.head_deadline);
      }
      scan = scan_head(c.in, scanned);
      scanned = scan.scanned;
      if (scan.state == HeadScan::complete) {
        head_len = scan.end;
        co_return true;
      }
      if (scan.state == HeadScan::bad) {
        co_await fail(c, 400, scan.error, "bad-request");
        co_return false;
      }
      if (c.in.size() > limits_.max_head) {
        co_await fail(c, 431, "request head larger than " + std::to_string(limits_.max_head / 1024) + " KiB",
                      "head-too-large");
        co_return false;
      }
    }
    if (co_await read_more(c, kHeadRead)) {
      // A partial head gets its 408; a connection that sent nothing is just closed.
      if (c.timed_out && c.phase == Phase::head && !c.in.empty())
        co_await answer_timeout(c, 408, "request head not received in time");
      co_return false;
    }
  }
}

asio::awaitable<bool> AdminFront::read_body(Conn& c, const Framing& framing, PendingRequest& req,
                                            BodyReservation& reservation) {
  uint64_t want = framing.chunked ? limits_.max_body : framing.length;
  if (!reservation.take(want)) {
    co_await fail(c, 503, "too many request bodies in progress; retry", "body-budget", 1);
    co_return false;
  }
  c.phase = Phase::body;
  set_deadline(c, limits_.body_deadline + per_64k(want));
  if (framing.expect_continue && c.in.empty()) {
    static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    if (co_await write_all(c, kContinue)) co_return false;
  }
  ChunkedDecoder decoder(limits_.max_body);
  for (;;) {
    if (framing.chunked) {
      size_t used = 0;
      ChunkedDecoder::Result r = decoder.feed(c.in, used, req.body);
      c.in.erase(0, used);
      if (r == ChunkedDecoder::Result::done) {
        req.head.setChunkedTransferEncoding(false);
        req.head.setContentLength64(static_cast<Poco::Int64>(req.body.size()));
        co_return true;
      }
      if (r == ChunkedDecoder::Result::bad) {
        co_await fail(c, 400, "malformed chunked body", "bad-request");
        co_return false;
      }
      if (r == ChunkedDecoder::Result::too_large) {
        co_await fail(c, 413, "request body larger than the admin API accepts", "body-too-large");
        co_return false;
      }
    } else if (c.in.size() >= framing.length) {
      req.body = c.in.substr(0, framing.length);
      c.in.erase(0, framing.length);
      co_return true;
    }
    if (co_await read_more(c, kBodyRead)) {
      if (c.timed_out) co_await answer_timeout(c, 408, "request body not received in time");
      co_return false;
    }
  }
}

asio::awaitable<std::optional<Reply>> AdminFront::run_handler(std::shared_ptr<Conn> cp,
                                                              std::shared_ptr<PendingRequest> req) {
  Conn& c = *cp;
  c.phase = Phase::handler;
  c.timer.expires_at(Clock::time_point::max());
  c.reply.reset();
  c.reply_cancelled = false;
  std::weak_ptr<Conn> weak = cp;
  bool queued = pool_.submit([this, weak, req, factory = factory_](bool cancelled) {
    std::optional<Reply> reply;
    if (!cancelled) reply = run_request(*factory, *req);
    asio::post(io_, [weak, reply = std::move(reply)]() mutable {
      std::shared_ptr<Conn> conn = weak.lock();
      if (!conn || conn->closed) return;
      conn->reply = std::move(reply);
      conn->reply_cancelled = !conn->reply;
      conn->wake.cancel();
    });
  });
  if (!queued) {
    co_await fail(c, 503, "the admin server is busy; retry", "busy", 1);
    co_return std::nullopt;
  }
  // No deadline and no eviction meanwhile: the handler's time is bounded by the pool.
  table_.set_waiting(c.id, false);
  c.wake.expires_at(Clock::time_point::max());
  while (!c.reply && !c.reply_cancelled && !c.closed) co_await c.wake.async_wait(use_nothrow);
  if (c.closed || !c.reply) co_return std::nullopt;
  table_.set_waiting(c.id, true);
  std::optional<Reply> reply = std::move(c.reply);
  c.reply.reset();
  co_return reply;
}

asio::awaitable<void> AdminFront::serve_requests(std::shared_ptr<Conn> cp) {
  Conn& c = *cp;
  if (tls_) {
    c.phase = Phase::handshake;
    SSL* ssl = ::SSL_new(tls_);
    if (!ssl) co_return;
    c.tls = std::make_unique<asio::ssl::stream<tcp::socket&>>(c.sock, ssl);  // owns ssl
    auto [ec] = co_await c.tls->async_handshake(asio::ssl::stream_base::server, use_nothrow);
    if (ec || c.closed || c.timed_out) co_return;
  }
  c.phase = Phase::head;
  for (int served = 0;;) {
    size_t head_len = 0;
    if (!co_await read_head(c, head_len)) co_return;
    auto req = std::make_shared<PendingRequest>();
    Framing framing;
    if (auto err = parse_head(std::string_view(c.in).substr(0, head_len), req->head, framing, limits_.max_body)) {
      co_await fail(c, err->status, err->message, err->status == 413 ? "body-too-large" : "bad-request");
      co_return;
    }
    c.in.erase(0, head_len);
    BodyReservation reservation(*this);  // held until the handler is done with the body
    if ((framing.chunked || framing.length > 0) && !co_await read_body(c, framing, *req, reservation)) co_return;

    ++served;
    req->client = Poco::Net::SocketAddress(c.remote.data(), static_cast<poco_socklen_t>(c.remote.size()));
    req->server = Poco::Net::SocketAddress(c.local.data(), static_cast<poco_socklen_t>(c.local.size()));
    req->secure = c.tls != nullptr;
    req->keep_alive = req->head.getKeepAlive() && served < limits_.max_requests_per_connection && !stopping_;
    std::optional<Reply> reply = co_await run_handler(cp, std::move(req));
    if (!reply) co_return;

    c.phase = Phase::write;
    set_deadline(c, limits_.write_deadline + per_64k(reply->bytes.size()));
    if (co_await write_all(c, reply->bytes)) co_return;
    if (!reply->keep_alive) {
      co_await linger_close(c);
      co_return;
    }
    c.phase = Phase::idle;
    set_deadline(c, limits_.idle_timeout);
  }
}

}  // namespace ferry::web::front
