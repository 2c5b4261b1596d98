#include "observe/trace.h"

#include <algorithm>
#include <charconv>

#include "ferry/util/json.h"

namespace ferry::proxy::trace {

namespace {

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // upper-case is invalid in traceparent
}

// `n` bytes from 2n lower-case hex characters; false on anything else.
bool unhex(std::string_view s, uint8_t* out, size_t n) {
  if (s.size() != 2 * n) return false;
  for (size_t i = 0; i < n; ++i) {
    const int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

template <size_t N>
bool all_zero(const std::array<uint8_t, N>& a) {
  for (uint8_t b : a)
    if (b != 0) return false;
  return true;
}

void attr(std::string& out, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  out += "{\"key\":";
  util::append_json_string(out, key);
  out += ",\"value\":{\"stringValue\":";
  util::append_json_string(out, value);
  out += "}},";
}

void attr(std::string& out, std::string_view key, int64_t value) {
  char n[24];
  auto [end, ec] = std::to_chars(n, n + sizeof n, value);
  out += "{\"key\":";
  util::append_json_string(out, key);
  out += ",\"value\":{\"intValue\":\"";
  out.append(n, end);
  out += "\"}},";
}

void number_string(std::string& out, uint64_t v) {
  char n[24];
  auto [end, ec] = std::to_chars(n, n + sizeof n, v);
  out += '"';
  out.append(n, end);
  out += '"';
}

}  // namespace

bool parse_traceparent(std::string_view v, TraceId& trace, SpanId& parent, uint8_t& flags) {
  // version "-" trace-id "-" parent-id "-" flags: 2 + 1 + 32 + 1 + 16 + 1 + 2 = 55.
  if (v.size() < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
  uint8_t version = 0;
  if (!unhex(v.substr(0, 2), &version, 1) || version == 0xff) return false;
  if (version == 0 && v.size() != 55) return false;
  if (version != 0 && v.size() > 55 && v[55] != '-') return false;
  TraceId t;
  SpanId p;
  uint8_t f = 0;
  if (!unhex(v.substr(3, 32), t.data(), t.size()) || !unhex(v.substr(36, 16), p.data(), p.size()) ||
      !unhex(v.substr(53, 2), &f, 1))
    return false;
  if (all_zero(t) || all_zero(p)) return false;
  trace = t;
  parent = p;
  flags = f;
  return true;
}

void hex_into(const uint8_t* bytes, size_t n, char* out) {
  static const char* kDigits = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 15];
  }
}

void append_hex(const uint8_t* bytes, size_t n, std::string& out) {
  const size_t at = out.size();
  out.resize(at + 2 * n);
  hex_into(bytes, n, out.data() + at);
}

void format_traceparent(const TraceState& t, std::string& out) {
  out.assign("00-");
  append_hex(t.trace.data(), t.trace.size(), out);
  out += '-';
  append_hex(t.span.data(), t.span.size(), out);
  out += t.sampled ? "-01" : "-00";
}

void SpanBuffer::add(const SpanFacts& f) {
  const TraceState& t = *f.trace;
  std::string& o = buf_;
  if (count_ != 0) o += ',';
  o += "{\"traceId\":\"";
  append_hex(t.trace.data(), t.trace.size(), o);
  o += "\",\"spanId\":\"";
  append_hex(t.span.data(), t.span.size(), o);
  o += '"';
  if (t.has_parent) {
    o += ",\"parentSpanId\":\"";
    append_hex(t.parent.data(), t.parent.size(), o);
    o += '"';
  }
  // The span's name: the method and what handled it (low cardinality, per the conventions).
  std::string name(f.method);
  name += ' ';
  name += f.app.empty() ? std::string_view("(unrouted)") : f.app;
  o += ",\"name\":";
  util::append_json_string(o, name);
  o += ",\"kind\":2,\"startTimeUnixNano\":";  // SPAN_KIND_SERVER
  number_string(o, t.start_unix_ns);
  o += ",\"endTimeUnixNano\":";
  number_string(o, f.end_unix_ns > t.start_unix_ns ? f.end_unix_ns : t.start_unix_ns);
  o += ",\"attributes\":[";
  attr(o, "http.request.method", f.method);
  // The query may hold secrets; a path is cut at 1 KiB, so the queue's memory stays bounded
  // by its span count (an attacker can make every request an exported error).
  attr(o, "url.path", f.path.substr(0, std::min<size_t>(f.path.find('?'), 1024)));
  attr(o, "server.address", f.host);
  if (f.status != 0) attr(o, "http.response.status_code", f.status);
  attr(o, "network.protocol.name", "http");
  attr(o, "network.protocol.version", f.protocol);
  attr(o, "client.address", f.client_ip);
  attr(o, "ferry.app", f.app);
  attr(o, "ferry.server", f.server);
  attr(o, "ferry.node", f.node);
  attr(o, "ferry.region", f.region);
  attr(o, "ferry.hop", f.backhaul ? "backhaul" : "edge");
  if (f.retries != 0) attr(o, "ferry.retries", f.retries);
  attr(o, "ferry.termination", f.termination);
  if (o.back() == ',') o.pop_back();
  o += ']';
  // Status: an error for 5xx and for requests that got no answer (OTLP STATUS_CODE_ERROR = 2).
  if (f.status >= 500 || f.status == 0) o += ",\"status\":{\"code\":2}";
  o += '}';
  ++count_;
}

void SpanBuffer::flush(SpanQueue& q) {
  if (count_ == 0) return;
  q.push(buf_, count_);
  buf_.clear();
  count_ = 0;
}

void SpanQueue::set_capacity(size_t spans) {
  std::lock_guard lk(mu_);
  capacity_ = spans;
}

void SpanQueue::push(std::string_view json, size_t n) {
  std::lock_guard lk(mu_);
  if (count_ + n > capacity_) {
    dropped_ += n;
    return;
  }
  if (count_ != 0) buf_ += ',';
  buf_ += json;
  count_ += n;
}

size_t SpanQueue::take(std::string& out) {
  std::lock_guard lk(mu_);
  out.clear();
  out.swap(buf_);
  const size_t n = count_;
  count_ = 0;
  return n;
}

uint64_t SpanQueue::dropped() const {
  std::lock_guard lk(mu_);
  return dropped_;
}

}  // namespace ferry::proxy::trace
