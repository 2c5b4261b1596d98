// Streams one HTTP/1 message body from a source connection to a destination connection with
// bounded memory and natural backpressure (read, write, repeat). Decodes chunked input and
// can re-encode as chunked output (chunked to chunked keeps the trailers that
// field_rules.h allows; otherwise they are dropped).
//
// Worker thread coroutine; errors are reported in the result, never thrown. `dl` is the
// connection's deadline; it is re-armed with `read_timeout` before each read and
// `write_timeout` before each write, and its expiry cancels both sockets.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "http/message.h"
#include "net/asio_util.h"
#include "net/buffer.h"
#include "net/deadline.h"
#include "net/stream.h"

namespace ferry::proxy::http1 {

struct BodyResult {
  enum class Error { none, read, write, read_timeout, write_timeout, malformed, too_large };
  Error error = Error::none;
  uint64_t bytes = 0;  // payload bytes delivered to the destination
  bool ok() const { return error == Error::none; }
};

// The bytes of request bodies one worker holds in BodyTees at once, against the global
// `replay-buffer-budget`. Owned by the Worker; its thread only.
struct ReplayBudget {
  uint64_t limit = 0;
  uint64_t used = 0;
};

// A copy of the request body as written upstream (its wire form: raw, or re-chunked with the
// last chunk), kept so that the request can be sent again after a Ferry-Replay
// (upstream/replay.h). Bounded by `max` payload bytes and by the worker's `budget`: past
// either `overflow` is set (with `over_budget` for the budget) and the copy is dropped, its
// bytes given back. Owned by the request (its frame); worker thread.
struct BodyTee {
  uint64_t max = 0;
  ReplayBudget* budget = nullptr;  // null: no worker budget
  uint64_t payload = 0;   // payload bytes seen so far
  bool overflow = false;  // the body cannot be replayed (too large, or over the budget)
  bool over_budget = false;
  std::string data;

  BodyTee() = default;
  BodyTee(const BodyTee&) = delete;
  BodyTee& operator=(const BodyTee&) = delete;
  ~BodyTee() { release(); }

  void add(std::string_view wire, uint64_t payload_bytes) {
    if (overflow) return;
    payload += payload_bytes;
    if (payload > max || (budget && budget->used + wire.size() > budget->limit)) {
      over_budget = payload <= max;
      overflow = true;
      release();
      return;
    }
    if (budget) budget->used += wire.size();
    reserved_ += wire.size();
    data.append(wire);
  }
  // Frees the copy and gives its bytes back to the budget.
  void release() {
    std::string().swap(data);
    if (budget) budget->used -= reserved_;
    reserved_ = 0;
  }

 private:
  uint64_t reserved_ = 0;  // bytes taken from `budget`
};

struct BodyTransfer {
  Stream* src = nullptr;
  Buffer* src_buf = nullptr;            // bytes already read from src (consumed as used)
  http::Framing in = http::Framing::none;           // content_length, chunked or until_close
  uint64_t length = 0;                  // for content_length
  Stream* dst = nullptr;
  bool chunk_out = false;               // re-encode as chunked (else raw)
  uint64_t max_bytes = 0;               // 0 = unlimited; exceeded -> too_large (nothing more sent)
  Deadline* dl = nullptr;
  std::chrono::milliseconds read_timeout{0}, write_timeout{0};
  // A read that fills all the space of `src_buf` grows it to this many bytes (0 = never), so a
  // large body moves in larger reads while a small one never pays for the bigger buffer.
  size_t grow_to = 0;
  BodyTee* tee = nullptr;               // also copy what is written to dst here (null: no copy)
  // Called (possibly more than once) as soon as the whole body has been read from src, before
  // its last bytes are written to dst: a response relay releases the server's in-flight count
  // there, so the client cannot see the end of the response while the server still counts as
  // busy. Empty: nothing.
  std::function<void()> on_source_end{};
};

awaitable<BodyResult> transfer_body(const BodyTransfer& t);

}  // namespace ferry::proxy::http1
