#include "http1/body.h"

#include <algorithm>
#include <string>

#include "http1/field_rules.h"
#include "http1/chunked.h"

namespace ferry::proxy::http1 {
namespace {

using Error = BodyResult::Error;

// Reads more bytes from the source into its buffer. Returns none, read (EOF counts as read
// unless `eof_ok`, then *eof is set) or read_timeout.
awaitable<Error> fill(const BodyTransfer& t, bool eof_ok, bool* eof) {
  t.dl->arm(t.read_timeout);
  const size_t space = t.src_buf->space_size();
  auto [ec, n] = co_await t.src->async_read_some(asio::buffer(t.src_buf->space(), space), use_nothrow);
  if (ec == asio::error::eof && eof_ok) {
    *eof = true;
    co_return Error::none;
  }
  if (ec) co_return t.dl->expired() ? Error::read_timeout : Error::read;
  t.src_buf->commit(n);
  if (n == space && t.grow_to > t.src_buf->capacity()) t.src_buf->reserve(t.grow_to);
  co_return Error::none;
}

awaitable<Error> send(const BodyTransfer& t, asio::const_buffer b) {
  t.dl->arm(t.write_timeout);
  auto [ec, n] = co_await asio::async_write(*t.dst, b, use_nothrow);
  if (ec) co_return t.dl->expired() ? Error::write_timeout : Error::write;
  co_return Error::none;
}

// Raw or re-chunked output of `data`.
awaitable<Error> emit(const BodyTransfer& t, std::string_view data, std::string& scratch) {
  if (data.empty()) co_return Error::none;
  if (t.tee) t.tee->add(data);
  if (!t.chunk_out) co_return co_await send(t, asio::buffer(data));
  scratch.clear();
  append_chunk_header(scratch, data.size());
  std::array<asio::const_buffer, 3> bufs{asio::buffer(scratch), asio::buffer(data), asio::buffer("\r\n", 2)};
  t.dl->arm(t.write_timeout);
  auto [ec, n] = co_await asio::async_write(*t.dst, bufs, use_nothrow);
  if (ec) co_return t.dl->expired() ? Error::write_timeout : Error::write;
  co_return Error::none;
}

}  // namespace

awaitable<BodyResult> transfer_body(const BodyTransfer& t) {
  auto source_end = [&t] {
    if (t.on_source_end) t.on_source_end();
  };
  BodyResult r;
  std::string scratch;
  Buffer& buf = *t.src_buf;
  auto over = [&](uint64_t more) { return t.max_bytes && r.bytes + more > t.max_bytes; };

  if (t.in == http::Framing::content_length || t.in == http::Framing::until_close) {
    bool until_close = t.in == http::Framing::until_close;
    uint64_t remaining = t.length;
    for (;;) {
      if (!until_close && remaining == 0) break;
      if (buf.empty()) {
        bool eof = false;
        if (auto e = co_await fill(t, until_close, &eof); e != Error::none) {
          r.error = e;
          co_return r;
        }
        if (eof) break;
        continue;
      }
      size_t n = until_close ? buf.size() : static_cast<size_t>(std::min<uint64_t>(remaining, buf.size()));
      if (over(n)) {
        r.error = Error::too_large;
        co_return r;
      }
      if (!until_close && n == remaining) source_end();
      if (auto e = co_await emit(t, buf.data().substr(0, n), scratch); e != Error::none) {
        r.error = e;
        co_return r;
      }
      buf.consume(n);
      r.bytes += n;
      remaining -= until_close ? 0 : n;
    }
  } else if (t.in == http::Framing::chunked) {
    ChunkedDecoder dec;
    std::string out, trailers;
    if (t.chunk_out) dec.keep_trailers(&trailers);  // re-chunked output carries them on (gRPC over HTTP/1.1)
    while (!dec.done()) {
      // Decode what is buffered into `out` (re-chunked or raw), then write it in one go.
      out.clear();
      while (!buf.empty() && !dec.done()) {
        auto s = dec.step(buf.data());
        if (s.error) {
          r.error = Error::malformed;
          co_return r;
        }
        if (s.consumed == 0) break;
        if (!s.data.empty()) {
          if (over(s.data.size())) {
            r.error = Error::too_large;
            co_return r;
          }
          r.bytes += s.data.size();
          if (t.tee) t.tee->add(s.data);
          if (t.chunk_out) append_chunk_header(out, s.data.size());
          out.append(s.data);
          if (t.chunk_out) out += "\r\n";
        }
        buf.consume(s.consumed);
        if (out.size() >= 64 * 1024) break;
      }
      if (dec.done()) source_end();
      if (dec.done() && t.chunk_out) {
        out += "0\r\n";
        append_allowed_trailers(trailers, out);  // no framing, routing, auth or forwarding fields
        out += "\r\n";
      }
      if (!out.empty()) {
        if (auto e = co_await send(t, asio::buffer(out)); e != Error::none) {
          r.error = e;
          co_return r;
        }
      }
      if (dec.done()) break;
      if (buf.empty() || out.empty()) {
        bool eof = false;
        if (auto e = co_await fill(t, false, &eof); e != Error::none) {
          r.error = e;
          co_return r;
        }
      }
    }
    co_return r;
  }
  source_end();
  if (t.chunk_out) {
    // The last chunk, with the trailers that followed a close-delimited source (HTTP/2).
    std::string_view last = kLastChunk;
    if (t.src_trailers && !t.src_trailers->empty()) {
      scratch = "0\r\n";
      append_allowed_trailers(*t.src_trailers, scratch);  // no framing, routing, auth or forwarding fields
      scratch += "\r\n";
      last = scratch;
    }
    if (auto e = co_await send(t, asio::buffer(last)); e != Error::none) r.error = e;
  }
  co_return r;
}

}  // namespace ferry::proxy::http1
