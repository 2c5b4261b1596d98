// Private to http1/session.cpp and http1/exchange.cpp: the state of one downstream HTTP/1
// connection. Worker thread only.
#pragma once

#include <array>
#include <memory>
#include <string>

#include "access_log.h"
#include "http/message.h"
#include "http1/scratch.h"
#include "net/asio_util.h"
#include "net/buffer.h"
#include "net/connect.h"
#include "net/deadline.h"
#include "net/stream.h"
#include "upstream/pool.h"
#include "worker.h"

namespace ferry::proxy::http1 {

class Session {
 public:
  Session(Worker& w, tcp::socket sock, std::shared_ptr<WorkerPlan> wp, std::string key);
  ~Session();  // the connection ends here (closes the socket, counts it out)

  // Spawns run() on the worker; `s` stays alive until the coroutine ends, then goes to park()
  // or dies (closing the connection). `resumed`: the session was parked and is now readable.
  static void serve(std::shared_ptr<Session> s, bool resumed);
  // An idle keep-alive connection waits without any coroutine frame: only this object and
  // one pending read (into first_) remain. Readable -> serve() again; keep-alive timeout, drain or
  // error -> the session is destroyed.
  static void park(std::shared_ptr<Session> s);

  // Serves requests until the connection closes, or until it is idle between requests
  // (then `parked`).
  enum class Outcome { closed, parked };
  awaitable<Outcome> run(bool resumed);

  // exchange.cpp: forwards one routed request; returns whether the downstream connection
  // may serve another request. `req` views are valid until the upstream head is built.
  awaitable<bool> forward(http::RequestHead& req, RequestInfo& info);

 private:
  // backhaul_tcp: a backhaul connection that starts with a PROXY v2 header (raw TCP for an
  // instance hosted here, see run_backhaul_tcp).
  enum class HeadResult { ok, close, park, h2, backhaul_tcp };
  // The PROXY v2 header of a raw TCP backhaul connection; hands the connection over.
  awaitable<void> start_backhaul_tcp();
  // TLS on a `tls` bind: the handshake within `timeout http-request`. False: close.
  awaitable<bool> start_tls();
  awaitable<HeadResult> read_head(bool first, bool resumed);
  // The connection starts like the h2c preface: h2 once it is complete, else parsed as HTTP/1.
  awaitable<HeadResult> read_preface();
  // Switches to the worker's newest plan; false when our listener is gone from it.
  bool refresh_plan();
  awaitable<bool> handle(http::RequestHead& req);
  // Writes a Ferry error page; when `close`, shuts the connection down gracefully.
  awaitable<void> send_error(int status, std::string_view detail, bool close, std::string_view extra = {});
  awaitable<void> lingering_close();
  void log_request(const RequestInfo& info, int status, uint64_t in, uint64_t out, std::string_view server,
                   double upstream_ms, int retries, std::string_view termination);
  void cancel_all();

  Worker& w_;
  Stream sock_;  // the downstream connection (TLS on `tls` binds)
  std::shared_ptr<WorkerPlan> wp_;
  std::string key_;
  const PlanFrontend* fe_ = nullptr;  // in wp_->plan
  // The front context the TLS handshake started on (null when plain): the certificate set a
  // request's Host is checked against (route_request), also after a reload.
  std::shared_ptr<SSL_CTX> tls_front_;
  int bind_ = 0;
  SessionHandle handle_;
  PeerInfo peer_;
  std::string client_ip_;
  Buffer buf_;
  Deadline dl_;
  std::unique_ptr<UpstreamConn> up_;  // the upstream connection of the current exchange
  std::unique_ptr<RequestScratch> s_;  // borrowed from the worker while a request is active
  bool trusted_ = false;
  bool revoked_ = false;    // a reload took the backhaul peer out of every allowed-ips
  bool tunneling_ = false;  // exchange.cpp: an upgraded connection's tunnel is running
  // A connection waiting for a request reads its first bytes here, not into a 16 KiB block
  // (10,000 idle connections would pin 160 MiB); read_head moves them into buf_.
  std::array<char, 256> first_;
  size_t first_len_ = 0;

  friend struct ExchangeState;
};

}  // namespace ferry::proxy::http1
