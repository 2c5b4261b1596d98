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
#include <memory>
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
  std::string_view trace_id, span_id;  // tracing on: this hop's span (hex); else empty
  int status = 0;
  uint64_t bytes_in = 0, bytes_out = 0;
  double duration_ms = 0, upstream_ms = -1;  // upstream_ms < 0: no upstream exchange
  int retries = 0;
  bool tcp = false;
};

// An access-log file opened for append. The descriptor is closed with the last reference: the
// writer holds one while it writes, so a reload that switches files never closes one under a
// write. Immutable; any thread.
class AccessLogFile {
 public:
  explicit AccessLogFile(int fd) : fd_(fd) {}
  ~AccessLogFile();
  AccessLogFile(const AccessLogFile&) = delete;
  AccessLogFile& operator=(const AccessLogFile&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

// `access-log PATH`: opens PATH for append, creating it (mode 0640). Null with `error`
// ("access-log PATH: <strerror>") when it cannot. Control thread (opens a file).
std::shared_ptr<const AccessLogFile> open_access_log(const std::string& path, std::string& error);
// The same verdict without creating or keeping anything (`ferryd -c`): an existing PATH must
// open for writing; a missing one needs a directory it can be created in. False with `error`
// as above. Control thread.
bool check_access_log(const std::string& path, std::string& error);

class AccessLogWriter {
 public:
  AccessLogWriter();
  ~AccessLogWriter();  // flushes and joins
  // Control thread: lines go to `file` from now on, or to stderr when it is null (files are
  // opened by open_access_log, so this cannot fail). Format off disables formatting.
  void configure(std::shared_ptr<const AccessLogFile> file, config::AccessLogFormat format);
  config::AccessLogFormat format() const { return format_.load(std::memory_order_relaxed); }
  // Any thread: queue a batch of complete lines.
  void submit(std::string batch);

 private:
  void run();
  std::atomic<config::AccessLogFormat> format_{config::AccessLogFormat::off};
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> queue_;
  std::shared_ptr<const AccessLogFile> file_;  // null: stderr
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

}  // namespace ferry::proxy
