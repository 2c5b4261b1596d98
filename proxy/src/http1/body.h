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

#include "http/body_tee.h"
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
  http::BodyTee* tee = nullptr;         // also copy the payload written to dst here (null: no copy)
  // An until_close source's trailers, complete when its end is read ("name: value\r\n"
  // lines; an HTTP/2 upstream's): sent in the last chunk when chunk_out. Null: none.
  const std::string* src_trailers = nullptr;
  // Called (possibly more than once) as soon as the whole body has been read from src, before
  // its last bytes are written to dst: a response relay releases the server's in-flight count
  // there, so the client cannot see the end of the response while the server still counts as
  // busy. Empty: nothing.
  std::function<void()> on_source_end{};
};

awaitable<BodyResult> transfer_body(const BodyTransfer& t);

}  // namespace ferry::proxy::http1
