// The HTTP/1 body codec over a byte stream (http/body.h's source and sink): a source that
// undoes the framing of what it reads (Content-Length, chunked with its trailers, or until the
// stream ends — also an HTTP/2 upstream stream's raw DATA, whose trailers come separately),
// and a sink that writes raw bytes or codes them as chunks (then its end carries the trailers
// that field_rules.h allows).
//
// Ownership: both refer to the caller's stream, buffer and deadline for their whole life.
// Worker thread. `dl` is the connection's deadline: re-armed with the source's timeout before
// each read and the sink's before each write; its expiry cancels the streams.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/body.h"
#include "http/message.h"
#include "http1/chunked.h"
#include "net/asio_util.h"
#include "net/buffer.h"
#include "net/deadline.h"
#include "net/stream.h"

namespace ferry::proxy::http1 {

using http::BodyResult;

class StreamBodySource final : public http::BodySource {
 public:
  // `framing`: content_length (`length` bytes), chunked, or until_close; bytes already read
  // are in `buf` (consumed as used). A read that fills all the space of `buf` grows it to
  // `grow_to` bytes (0 = never), so a large body moves in larger reads while a small one never
  // pays for the bigger buffer. `trailers`: where an until_close source's trailers are found
  // at its end (null: none).
  StreamBodySource(Stream& s, Buffer& buf, http::Framing framing, uint64_t length, Deadline& dl,
                   std::chrono::milliseconds timeout, size_t grow_to = 0, const std::string* trailers = nullptr)
      : s_(s), buf_(buf), framing_(framing), remaining_(length), dl_(dl), timeout_(timeout), grow_to_(grow_to),
        ext_trailers_(trailers) {
    if (framing_ == http::Framing::chunked) dec_.keep_trailers(&trailers_);
  }
  ~StreamBodySource() { buf_.consume(pending_); }

  awaitable<BodyResult::Error> next(std::string_view& data, bool& end) override;
  bool poll(std::string_view& data, bool& end, BodyResult::Error& e) override;
  bool ready() const override;
  std::string_view trailers() const override { return ext_trailers_ ? *ext_trailers_ : trailers_; }

 private:
  awaitable<BodyResult::Error> fill(bool eof_ok, bool& eof);
  // The span given out last is consumed; the outputs are reset.
  void begin(std::string_view& data, bool& end);
  // next() over the bytes in `buf_`: true when that answers it (`e` set); false when more
  // must be read first (`eof_ok`: the stream's end would end the body).
  bool step(std::string_view& data, bool& end, BodyResult::Error& e, bool& eof_ok);

  Stream& s_;
  Buffer& buf_;
  http::Framing framing_;
  uint64_t remaining_;  // content_length: bytes not yet given out
  Deadline& dl_;
  std::chrono::milliseconds timeout_;
  size_t grow_to_;
  const std::string* ext_trailers_;
  size_t pending_ = 0;  // bytes of `buf_` behind the span given out last
  ChunkedDecoder dec_;
  std::string trailers_;
  bool done_ = false;
};

class StreamBodySink final : public http::BodySink {
 public:
  StreamBodySink(Stream& s, bool chunked, Deadline& dl, std::chrono::milliseconds timeout)
      : s_(s), chunked_(chunked), dl_(dl), timeout_(timeout) {}

  awaitable<BodyResult::Error> write(std::string_view data, bool more) override;
  awaitable<BodyResult::Error> finish(std::string_view trailers) override;

 private:
  awaitable<BodyResult::Error> flush();

  Stream& s_;
  bool chunked_;
  Deadline& dl_;
  std::chrono::milliseconds timeout_;
  std::string held_;  // chunks held back while more follow at once (small chunks, one write)
};

}  // namespace ferry::proxy::http1
