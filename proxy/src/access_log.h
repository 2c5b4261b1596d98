// Access log: one line per request (HTTP) or connection (TCP), text ("common" plus Ferry
// fields) or JSON.
//
// Ownership: the Engine owns one AccessLogWriter (a thread that appends batches to stderr or
// a file); each worker owns an AccessLogBuffer that formats lines into memory and hands
// whole batches to the writer (at 32 KiB or on the worker's 200 ms flush tick), so the
// request path never performs I/O or takes a lock per request.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ferry/configlang/config.h"
#include "net/sockaddr.h"

namespace ferry::proxy {

// Fields of one access-log entry. Views must stay valid until AccessLogBuffer::add returns.
struct AccessRecord {
  const SockAddr* client = nullptr;
  std::string_view frontend, app, server, method, path, host, request_id;
  std::string_view termination;  // "" normal, else e.g. "client-timeout", "upstream-reset"
  int status = 0;
  uint64_t bytes_in = 0, bytes_out = 0;
  double duration_ms = 0, upstream_ms = -1;  // upstream_ms < 0: no upstream exchange
  int retries = 0;
  bool tcp = false;
};

class AccessLogWriter {
 public:
  AccessLogWriter();
  ~AccessLogWriter();  // flushes and joins
  // Control thread. Target "stderr" or a file path (opened for append; on failure the
  // error is returned and the previous target stays). Format off disables formatting.
  bool configure(const std::string& target, config::AccessLogFormat format, std::string& error);
  config::AccessLogFormat format() const { return format_.load(std::memory_order_relaxed); }
  // Any thread: queue a batch of complete lines.
  void submit(std::string batch);

 private:
  void run();
  std::atomic<config::AccessLogFormat> format_{config::AccessLogFormat::off};
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> queue_;
  int fd_ = 2;
  std::string target_ = "stderr";
  bool stop_ = false;
  std::thread thread_;
};

class AccessLogBuffer {
 public:
  explicit AccessLogBuffer(AccessLogWriter* writer) : writer_(writer) {}
  bool enabled() const { return writer_ && writer_->format() != config::AccessLogFormat::off; }
  void add(const AccessRecord& r);  // worker thread
  void flush();                     // worker thread

 private:
  AccessLogWriter* writer_;
  std::string buf_;
};

// Formats "1.2.3.4" / "::1" from a sockaddr; "-" if unknown.
std::string format_ip(const SockAddr* addr);

}  // namespace ferry::proxy
