// Tracing (the `tracing` section): W3C Trace Context (https://www.w3.org/TR/trace-context/)
// for every HTTP request, and one span per hop, exported as OTLP/JSON by the daemon.
//
// - TraceState: a request's ids. The pipeline's accept phase starts it: from a trusted peer's
//   valid `traceparent` (a `trust-forwarded` peer or the mesh backhaul: the edge in front of a
//   worker) the trace id and parent span carry on and its sampled flag decides; from anyone
//   else the trace starts here (a new trace id, sampled by the section's ratio). The upstream
//   request carries `traceparent` naming this hop's span as the parent.
// - SpanBuffer: each worker formats its finished spans (OTLP/JSON span objects) into memory
//   and hands them to the SpanQueue on its 200 ms tick, as the access log does, so the request
//   path does no I/O and takes no lock per request.
// - SpanQueue: shared by the workers and the daemon's exporter thread; bounded (`queue N`
//   spans): what does not fit is dropped and counted.
//
// Threads: TraceState and SpanBuffer belong to one worker; SpanQueue is locked inside. Never
// throws but bad_alloc.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace ferry::proxy::trace {

using TraceId = std::array<uint8_t, 16>;
using SpanId = std::array<uint8_t, 8>;

struct TraceState {
  bool on = false;         // the plan has a `tracing` section
  bool has_parent = false;  // a trusted traceparent named the caller's span
  bool sampled = false;     // exported whatever the answer
  bool tracestate = false;  // the trusted caller's tracestate goes upstream with ours
  TraceId trace{};
  SpanId span{}, parent{};
  uint64_t start_unix_ns = 0;
};

// Parses a traceparent value. Version 00: exactly "00-<32 hex>-<16 hex>-<2 hex>", lower-case,
// neither id all zeros. A later version (not "ff"): the same start, then the end or '-'
// (the spec's forward compatibility). False for anything else (the trace then starts here).
bool parse_traceparent(std::string_view v, TraceId& trace, SpanId& parent, uint8_t& flags);

// "00-<trace>-<span>-<01|00>" into `out` (55 characters).
void format_traceparent(const TraceState& t, std::string& out);

// Lower-case hex of `n` bytes appended to `out`, or written to out[0, 2n).
void append_hex(const uint8_t* bytes, size_t n, std::string& out);
void hex_into(const uint8_t* bytes, size_t n, char* out);

// What a finished request's span says (views valid for SpanBuffer::add).
struct SpanFacts {
  const TraceState* trace = nullptr;
  std::string_view method, path, host, app, server, node, region, client_ip, termination, protocol;
  int status = 0;  // 0: no response
  int retries = 0;
  bool backhaul = false;  // the request came over the mesh backhaul (a worker's hop)
  uint64_t end_unix_ns = 0;
};

// Finished spans of one worker, formatted as OTLP/JSON span objects joined by ','.
class SpanBuffer {
 public:
  void add(const SpanFacts& f);
  size_t count() const { return count_; }
  // Hands everything to `q` (the buffer keeps its capacity).
  void flush(class SpanQueue& q);

 private:
  std::string buf_;
  size_t count_ = 0;
};

// Spans waiting for the exporter. Any thread.
class SpanQueue {
 public:
  // The most spans kept (`queue N`); applied to later pushes.
  void set_capacity(size_t spans);
  // Appends `n` formatted spans (`json`: span objects joined by ','); when they do not all
  // fit, the whole batch is dropped and counted.
  void push(std::string_view json, size_t n);
  // Moves everything queued to `out` (replacing its content): span objects joined by ','.
  // Returns their number.
  size_t take(std::string& out);
  uint64_t dropped() const;

 private:
  mutable std::mutex mu_;
  std::string buf_;
  size_t count_ = 0;
  size_t capacity_ = 8192;
  uint64_t dropped_ = 0;
};

}  // namespace ferry::proxy::trace
