#include "observe/access_log.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

#include "ferry/util/json.h"

namespace ferry::proxy {

AccessLogWriter::AccessLogWriter() : thread_([this] { run(); }) {}

AccessLogWriter::~AccessLogWriter() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

AccessLogFile::~AccessLogFile() {
  if (fd_ > 2) ::close(fd_);
}

std::shared_ptr<const AccessLogFile> open_access_log(const std::string& path, std::string& error) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    error = "access-log " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  return std::make_shared<const AccessLogFile>(fd);
}

bool check_access_log(const std::string& path, std::string& error) {
  // O_NONBLOCK: a FIFO without a reader fails (ENXIO) instead of blocking the check.
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC | O_NONBLOCK);
  if (fd >= 0) {
    ::close(fd);
    return true;
  }
  int err = errno;
  if (err == ENOENT) {
    size_t slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    if (::access(dir.c_str(), W_OK | X_OK) == 0) return true;
    err = errno;
  }
  error = "access-log " + path + ": " + std::strerror(err);
  return false;
}

void AccessLogWriter::configure(std::shared_ptr<const AccessLogFile> file, config::AccessLogFormat format) {
  {
    std::lock_guard lk(mu_);
    file_ = std::move(file);  // the previous file closes once the writer is done with it
  }
  format_.store(format, std::memory_order_relaxed);
}

void AccessLogWriter::submit(std::string batch) {
  {
    std::lock_guard lk(mu_);
    queue_.push_back(std::move(batch));
  }
  cv_.notify_one();
}

void AccessLogWriter::run() {
  std::vector<std::string> batch;
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
    batch.swap(queue_);
    std::shared_ptr<const AccessLogFile> file = file_;
    const int fd = file ? file->fd() : 2;
    bool stop = stop_;
    lk.unlock();
    for (const auto& b : batch) {
      size_t off = 0;
      while (off < b.size()) {
        ssize_t n = ::write(fd, b.data() + off, b.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // a log write error must never stall or kill the proxy
        off += static_cast<size_t>(n);
      }
    }
    batch.clear();
    lk.lock();
    if (stop && queue_.empty()) return;
  }
}

namespace {

// Text fields in the common format: printable ASCII only, spaces kept, quotes escaped.
void append_text(std::string& out, std::string_view s) {
  if (s.empty()) {
    out += '-';
    return;
  }
  for (unsigned char c : s) out += (c < 0x20 || c >= 0x7f || c == '"') ? '?' : static_cast<char>(c);
}

// The current UTC time, ISO 8601 with milliseconds (JSON) or as the common format writes it.
void format_time(char (&buf)[64], bool iso) {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  int ms = int(std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  if (iso) {
    size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof buf - n, ".%03dZ", ms);
  } else {
    std::strftime(buf, sizeof buf, "%d/%b/%Y:%H:%M:%S +0000", &tm);
  }
}

}  // namespace

void AccessLogBuffer::add(const AccessRecord& r) {
  if (!enabled()) return;
  char num[64];
  char time[64];
  if (writer_->format() == config::AccessLogFormat::json) {
    // One object per line; strings by the project's one JSON rule (ferry/util/json.h): UTF-8
    // kept, invalid bytes as \ufffd, so every line is valid JSON and valid UTF-8.
    format_time(time, true);
    util::JsonWriter w(buf_);
    w.begin_object();
    w.field("ts", std::string_view(time)).field("client", format_ip(r.client)).field("frontend", r.frontend);
    w.field("proto", r.tcp ? "tcp" : "http/1.1").field("method", r.method).field("path", r.path);
    w.field("host", r.host).field("status", r.status).field("bytes_in", r.bytes_in).field("bytes_out", r.bytes_out);
    w.field("app", r.app).field("server", r.server);
    w.key("duration_ms").value_fixed(r.duration_ms, 3).key("upstream_ms").value_fixed(r.upstream_ms, 3);
    w.field("retries", r.retries).field("request_id", r.request_id).field("termination", r.termination);
    if (!r.trace_id.empty()) w.field("trace_id", r.trace_id).field("span_id", r.span_id);
    w.end_object();
    buf_ += '\n';
  } else {
    // Common Log Format, then Ferry's fields as key=value.
    buf_ += format_ip(r.client);
    buf_ += " - - [";
    format_time(time, false);
    buf_ += time;
    buf_ += "] \"";
    if (r.tcp) {
      buf_ += "TCP";
    } else {
      append_text(buf_, r.method);
      buf_ += ' ';
      append_text(buf_, r.path);
      buf_ += " HTTP/1.1";
    }
    std::snprintf(num, sizeof num, "\" %d %llu", r.status, (unsigned long long)r.bytes_out);
    buf_ += num;
    buf_ += " frontend=";
    append_text(buf_, r.frontend);
    buf_ += " app=";
    append_text(buf_, r.app);
    buf_ += " server=";
    append_text(buf_, r.server);
    std::snprintf(num, sizeof num, " in=%llu dur_ms=%.3f up_ms=%.3f retries=%d", (unsigned long long)r.bytes_in,
                  r.duration_ms, r.upstream_ms, r.retries);
    buf_ += num;
    buf_ += " req_id=";
    append_text(buf_, r.request_id);
    if (!r.termination.empty()) {
      buf_ += " term=";
      append_text(buf_, r.termination);
    }
    if (!r.trace_id.empty()) {
      buf_ += " trace_id=";
      buf_ += r.trace_id;
      buf_ += " span_id=";
      buf_ += r.span_id;
    }
    buf_ += '\n';
  }
  if (buf_.size() >= 32 * 1024) flush();
}

void AccessLogBuffer::flush() {
  if (buf_.empty() || !writer_) return;
  writer_->submit(std::move(buf_));
  buf_.clear();
}

}  // namespace ferry::proxy
