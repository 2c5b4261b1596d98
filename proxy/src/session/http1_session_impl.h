// Private to session/http1_session.cpp and session/http1_downstream.cpp: the state of one
// downstream HTTP/1 connection. Worker thread only.
#pragma once

#include <array>
#include <memory>
#include <string>

#include "http/message.h"
#include "net/asio_util.h"
#include "net/buffer.h"
#include "net/connect.h"
#include "net/deadline.h"
#include "net/stream.h"
#include "request/downstream.h"
#include "upstream/pool.h"
#include "worker/context.h"
#include "worker/request_scratch.h"

namespace ferry::proxy::http1 {

class Session final : public DownstreamConn, public RequestDownstream {
 public:
  Session(WorkerContext& w, tcp::socket sock, const PeerInfo& peer, std::shared_ptr<WorkerPlan> wp, std::string key);
  ~Session();  // the connection ends here (closes the socket, counts it out)

  // Spawns run() on the worker; `s` stays alive until the coroutine ends, then goes to park()
  // or dies (closing the connection). `resumed`: the session was parked and is now readable.
  static void serve(std::shared_ptr<Session> s, bool resumed);
  // An idle keep-alive connection waits without any coroutine frame: only this object and
  // one pending read (into first_) remain. Readable -> serve() again; keep-alive timeout, drain or
  // error -> the session is destroyed.
  static void park(std::shared_ptr<Session> s);
  // park()'s read: readable -> serve(s, true).
  static void read_parked(std::shared_ptr<Session> s);

  // Serves requests until the connection closes, or until it is idle between requests
  // (then `parked`).
  enum class Outcome { closed, parked };
  awaitable<Outcome> run(bool resumed);

  // RequestDownstream (http1_downstream.cpp): one request of this connection in the pipeline.
  DownstreamConn& conn() override { return *this; }
  StatsProtocol protocol() const override { return StatsProtocol::http1; }
  uint64_t replayable_body_limit() const override;
  awaitable<void> send_error(int status, std::string_view detail, bool close, uint32_t retry_after) override;
  awaitable<uint64_t> send_local(const LocalResponse& r, bool close) override;
  void routed(const PlanApp& pa, const config::Backend& be) override;
  void head_done() override;
  awaitable<bool> await_body(const http::RequestHead& req, BodyWait& w) override;
  bool complete_body(const http::RequestHead& req, std::string_view& body) override;
  void complete_body_done() override;
  void set_tee(http::BodyTee* tee) override { tee_ = tee; }
  std::unique_ptr<UpstreamConn>& upstream_slot() override { return up_; }
  Deadline& deadline() override { return dl_; }
  awaitable<RelayResult> relay_response(Exchange& x, const RequestInfo& info, const config::Backend& be,
                                        bool upgrade) override;
  awaitable<http::BodyResult> send_body(UpstreamConn& up) override;
  awaitable<void> interim(const http::ResponseHead& head) override;

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
  // Writes a Ferry error page; when `close`, shuts the connection down gracefully.
  awaitable<void> write_error(int status, std::string_view detail, bool close, std::string_view extra = {});
  // Closes after the last response: reads and discards what the client may still send (so
  // that a TCP reset does not destroy the response) for up to 500 ms. `drain` false: for a
  // client that said it sends no more (TLS: close_notify, then close).
  awaitable<void> lingering_close(bool drain = true);
  void cancel_all();

  SessionHandle handle_;
  Buffer buf_;
  Deadline dl_;
  std::unique_ptr<UpstreamConn> up_;  // the upstream connection of the current exchange
  std::unique_ptr<RequestScratch> s_;  // borrowed from the worker while a request is active
  bool tunneling_ = false;  // an upgraded connection's tunnel is running (a revocation cuts it)
  // The current request (set by run(), read by the RequestDownstream methods).
  bool head_pending_ = false;     // its head is still at the front of buf_
  size_t head_size_ = 0;
  http::Framing framing_ = http::Framing::none;
  uint64_t length_ = 0;           // its content-length
  bool expect_ = false;           // "Expect: 100-continue"
  int minor_ = 1;
  size_t complete_len_ = 0;       // body bytes complete_body() lent from buf_
  uint64_t max_body_ = 0;         // the routed app's max-body-size (0: none)
  std::chrono::milliseconds server_timeout_{0};  // the routed backend's `timeout server`
  http::BodyTee* tee_ = nullptr;  // copy of the streamed body for a Ferry-Replay (null: none)
  // A connection waiting for a request reads its first bytes here, not into a 16 KiB block
  // (10,000 idle connections would pin 160 MiB); read_head moves them into buf_.
  std::array<char, 256> first_;
  size_t first_len_ = 0;
};

}  // namespace ferry::proxy::http1
