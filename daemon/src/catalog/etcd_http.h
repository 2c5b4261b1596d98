// One client connection to an etcd cluster's JSON gateway (POST /v3/...), over POCO: plain
// http:// or https:// (catalog `ca-file`, client `cert`/`key`), with etcd authentication
// (`user`, `password-file`: a token fetched on first use and again when etcd refuses it).
//
// The endpoints are tried in turn: a call that cannot connect or loses its connection moves
// to the next one and is tried once on each. Unary calls time out after 5 s; a stream (the
// watch) waits up to `idle` for its next line and then returns `timed_out`.
//
// Thread: one owner thread makes the calls; cancel() may be called from any thread and makes
// the blocked call (and every later one) return at once. POCO exceptions are caught here.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "ferry/configlang/config.h"

namespace ferry::daemon::catalog {

class EtcdHttp {
 public:
  // `password`: the content of the config's password-file (read by the caller).
  EtcdHttp(const config::Catalog& cfg, std::string password);
  ~EtcdHttp();
  EtcdHttp(const EtcdHttp&) = delete;
  EtcdHttp& operator=(const EtcdHttp&) = delete;

  struct Reply {
    int status = 0;    // HTTP status; 0 = no answer (see error)
    std::string body;
    std::string error;  // why there is no usable answer (transport, status or etcd's error)
  };
  // POST `path` with JSON `body`. True with a 200 reply; false with reply.error otherwise.
  bool call(const std::string& path, const std::string& body, Reply& reply);

  enum class StreamEnd { closed, timed_out, stopped, failed };
  // POST `path` and hand each line of the answer to `on_line` until it returns false
  // (stopped), the server ends the stream (closed), no line came for `idle` (timed_out) or the
  // connection fails (failed, with `error`).
  StreamEnd stream(const std::string& path, const std::string& body, std::chrono::milliseconds idle,
                   const std::function<bool(std::string_view)>& on_line, std::string& error);

  // Any thread: interrupts the call in progress; when `forever`, every later call fails too.
  void cancel(bool forever);
  const std::string& endpoint() const;  // the one in use (or to be tried next)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::daemon::catalog
