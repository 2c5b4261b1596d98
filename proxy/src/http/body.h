// Message bodies, protocol-neutral: a BodySource gives the payload of one body in spans (its
// transfer coding already undone), a BodySink takes it (coding it for its protocol), and
// pump_body() moves one body from a source to a sink with bounded memory and natural
// backpressure (each span is written before the next is read). The HTTP/1 codec implements
// both over a byte stream (http1/body.h; also an HTTP/2 upstream stream's raw DATA); the
// downstream HTTP/2 stream implements a request source and a response sink
// (session/h2_stream.cpp).
//
// Each step is polled first (poll, poll_write, poll_finish) and awaited only when it must
// wait, so a body that is already here moves without a coroutine per span.
//
// Ownership: the caller owns the source, the sink and what they refer to for the whole call.
// Thread: the worker's; coroutines never throw, errors are results.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>
#include <string_view>

#include "http/body_tee.h"
#include "net/asio_util.h"

namespace ferry::proxy::http {

struct BodyResult {
  // read / read_timeout / malformed: the source failed (its peer, or its framing);
  // write / write_timeout: the sink; too_large: the payload passed max_bytes.
  enum class Error { none, read, write, read_timeout, write_timeout, malformed, too_large };
  Error error = Error::none;
  uint64_t bytes = 0;  // payload bytes delivered to the sink
  bool ok() const { return error == Error::none; }
};

class BodySource {
 public:
  // The next payload span in `data` (valid until the next call; the previous span is
  // consumed then), waiting for the peer within the source's own deadline. `end`: the body is
  // complete after `data` (which may then be empty).
  virtual awaitable<BodyResult::Error> next(std::string_view& data, bool& end) = 0;
  // next() without a coroutine, when its answer is already here: true with next()'s outputs
  // (and its error in `e`); false when next() would wait (nothing was given out: call it).
  virtual bool poll(std::string_view& data, bool& end, BodyResult::Error& e) {
    (void)data, (void)end, (void)e;
    return false;
  }
  // Whether the next call returns without waiting (a sink may batch what it writes).
  virtual bool ready() const = 0;
  // Trailer fields that came with the end ("name: value\r\n" lines), once `end` was seen.
  virtual std::string_view trailers() const { return {}; }

 protected:
  ~BodySource() = default;
};

class BodySink {
 public:
  // Sends one payload span, within the sink's own deadline. `more`: another span or the end
  // follows at once (the sink may hold this one back to send them together).
  virtual awaitable<BodyResult::Error> write(std::string_view data, bool more) = 0;
  // The body is complete; `trailers` go with its end where the protocol carries them (the
  // sink drops the fields no trailer may carry).
  virtual awaitable<BodyResult::Error> finish(std::string_view trailers) = 0;
  // write() and finish() without a coroutine, when they need not wait: true with their error
  // in `e`; false when the span (or the end) was not taken (call write() or finish()).
  virtual bool poll_write(std::string_view data, bool more, BodyResult::Error& e) {
    (void)data, (void)more, (void)e;
    return false;
  }
  virtual bool poll_finish(std::string_view trailers, BodyResult::Error& e) {
    (void)trailers, (void)e;
    return false;
  }

 protected:
  ~BodySink() = default;
};

struct PumpOptions {
  uint64_t max_bytes = 0;  // 0 = unlimited; past it: too_large (nothing more written)
  BodyTee* tee = nullptr;  // also copy the payload here (null: no copy)
  // Called once the whole body has been read from the source, before its last bytes are
  // written: a response relay releases the server's in-flight count there, so the client
  // cannot see the end of the response while the server still counts as busy. Empty: nothing.
  std::function<void()> on_source_end{};
};

// One body's move from a source to a sink, as steps (read a span, write it, end). run() makes
// every step that need not wait; only when one must wait does rest(), a coroutine, await it
// and go on. A body that is already here (most responses) thus moves without a coroutine
// frame of its own:
//   BodyPump pump(src, sink, options);
//   if (!pump.run()) co_await pump.rest();
//   use(pump.result());
class BodyPump {
 public:
  BodyPump(BodySource& src, BodySink& dst, PumpOptions o = {}) : src_(src), dst_(dst), o_(std::move(o)) {}
  // true: the body is done (result() is final); false: a step must wait (co_await rest()).
  bool run();
  // The remaining steps, waiting where they must; result() is final after it.
  awaitable<void> rest();
  const BodyResult& result() const { return r_; }

 private:
  enum class Step { read, write, end };
  bool took(BodyResult::Error e);   // after a read: true when done (an error)
  bool wrote(BodyResult::Error e);  // after a write: true when done (an error)

  BodySource& src_;
  BodySink& dst_;
  PumpOptions o_;
  BodyResult r_;
  Step step_ = Step::read;
  std::string_view data_;  // the span read, until it is written
  bool end_ = false;       // the source is complete after data_
  bool more_ = false;      // another span or the end follows at once
};

// A BodyPump run to its end.
awaitable<BodyResult> pump_body(BodySource& src, BodySink& dst, const PumpOptions& o = {});

}  // namespace ferry::proxy::http
