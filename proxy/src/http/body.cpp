#include "http/body.h"

namespace ferry::proxy::http {

awaitable<BodyResult> pump_body(BodySource& src, BodySink& dst, const PumpOptions& o) {
  using Error = BodyResult::Error;
  BodyResult r;
  for (;;) {
    std::string_view data;
    bool end = false;
    Error e = Error::none;
    if (!src.poll(data, end, e)) e = co_await src.next(data, end);
    if (e != Error::none) {
      r.error = e;
      co_return r;
    }
    if (!data.empty()) {
      if (o.max_bytes && r.bytes + data.size() > o.max_bytes) {
        r.error = Error::too_large;
        co_return r;
      }
      if (o.tee) o.tee->add(data);
    }
    if (end && o.on_source_end) o.on_source_end();
    if (!data.empty()) {
      const bool more = end || src.ready();
      if (!dst.poll_write(data, more, e)) e = co_await dst.write(data, more);
      if (e != Error::none) {
        r.error = e;
        co_return r;
      }
      r.bytes += data.size();
    }
    if (end) {
      if (!dst.poll_finish(src.trailers(), r.error)) r.error = co_await dst.finish(src.trailers());
      co_return r;
    }
  }
}

}  // namespace ferry::proxy::http
