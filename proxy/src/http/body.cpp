#include "http/body.h"

namespace ferry::proxy::http {

using Error = BodyResult::Error;

bool BodyPump::took(Error e) {
  if (e != Error::none) {
    r_.error = e;
    return true;
  }
  if (!data_.empty()) {
    if (o_.max_bytes && r_.bytes + data_.size() > o_.max_bytes) {
      r_.error = Error::too_large;
      return true;
    }
    if (o_.tee) o_.tee->add(data_);
  }
  if (end_ && o_.on_source_end) o_.on_source_end();
  if (!data_.empty()) {
    more_ = end_ || src_.ready();
    step_ = Step::write;
  } else {
    step_ = end_ ? Step::end : Step::read;
  }
  return false;
}

bool BodyPump::wrote(Error e) {
  if (e != Error::none) {
    r_.error = e;
    return true;
  }
  r_.bytes += data_.size();
  step_ = end_ ? Step::end : Step::read;
  return false;
}

bool BodyPump::run() {
  for (;;) {
    Error e = Error::none;
    switch (step_) {
      case Step::read:
        if (!src_.poll(data_, end_, e)) return false;
        if (took(e)) return true;
        break;
      case Step::write:
        if (!dst_.poll_write(data_, more_, e)) return false;
        if (wrote(e)) return true;
        break;
      case Step::end:
        return dst_.poll_finish(src_.trailers(), r_.error);
    }
  }
}

// (if/else, not a switch: g++ 12 miscompiles a co_await inside a switch case here, SIGILL)
awaitable<void> BodyPump::rest() {
  for (;;) {
    if (step_ == Step::read) {
      const Error e = co_await src_.next(data_, end_);
      if (took(e)) co_return;
    } else if (step_ == Step::write) {
      const Error e = co_await dst_.write(data_, more_);
      if (wrote(e)) co_return;
    } else {
      r_.error = co_await dst_.finish(src_.trailers());
      co_return;
    }
    if (run()) co_return;
  }
}

awaitable<BodyResult> pump_body(BodySource& src, BodySink& dst, const PumpOptions& o) {
  BodyPump pump(src, dst, o);
  if (!pump.run()) co_await pump.rest();
  co_return pump.result();
}

}  // namespace ferry::proxy::http
