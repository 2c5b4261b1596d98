#include "http1/body.h"

#include <algorithm>
#include <array>

#include "http1/field_rules.h"

namespace ferry::proxy::http1 {
namespace {

using Error = BodyResult::Error;
constexpr size_t kHoldMax = 64 * 1024;  // held chunk bytes that make the sink write

}  // namespace

awaitable<Error> StreamBodySource::fill(bool eof_ok, bool& eof) {
  if (buf_.space_size() == 0) buf_.reserve(std::max(buf_.capacity() * 2, grow_to_));  // an incomplete chunk line
  dl_.arm(timeout_);
  const size_t space = buf_.space_size();
  auto [ec, n] = co_await s_.async_read_some(asio::buffer(buf_.space(), space), use_nothrow);
  if (ec == asio::error::eof && eof_ok) {
    eof = true;
    co_return Error::none;
  }
  if (ec || n == 0) co_return dl_.expired() ? Error::read_timeout : Error::read;
  buf_.commit(n);
  if (n == space && grow_to_ > buf_.capacity()) buf_.reserve(grow_to_);
  co_return Error::none;
}

bool StreamBodySource::ready() const {
  if (done_) return true;
  if (framing_ == http::Framing::content_length && remaining_ == 0) return true;
  return buf_.size() > pending_;
}

void StreamBodySource::begin(std::string_view& data, bool& end) {
  buf_.consume(pending_);
  pending_ = 0;
  data = {};
  end = false;
}

bool StreamBodySource::step(std::string_view& data, bool& end, Error& e, bool& eof_ok) {
  e = Error::none;
  if (done_ || framing_ == http::Framing::none) {
    end = done_ = true;
    return true;
  }
  if (framing_ == http::Framing::chunked) {
    while (!buf_.empty()) {
      auto st = dec_.step(buf_.data());
      if (st.error) {
        e = Error::malformed;
        return true;
      }
      if (st.consumed == 0) break;  // an incomplete chunk line: more bytes first
      data = st.data;  // a view into buf_: consumed with its framing by the next call
      pending_ = st.consumed;
      end = done_ = st.done;
      if (!data.empty() || end) return true;
      buf_.consume(std::exchange(pending_, 0));
    }
    eof_ok = false;
    return false;
  }
  const bool until_close = framing_ != http::Framing::content_length;
  if (!until_close && remaining_ == 0) {
    end = done_ = true;
    return true;
  }
  if (buf_.empty()) {
    eof_ok = until_close;
    return false;
  }
  const size_t n = until_close ? buf_.size() : static_cast<size_t>(std::min<uint64_t>(remaining_, buf_.size()));
  data = buf_.data().substr(0, n);
  pending_ = n;
  if (!until_close) {
    remaining_ -= n;
    end = done_ = remaining_ == 0;
  }
  return true;
}

bool StreamBodySource::poll(std::string_view& data, bool& end, Error& e) {
  begin(data, end);
  bool eof_ok = false;
  return step(data, end, e, eof_ok);
}

awaitable<Error> StreamBodySource::next(std::string_view& data, bool& end) {
  begin(data, end);
  for (;;) {
    Error e = Error::none;
    bool eof_ok = false;
    if (step(data, end, e, eof_ok)) co_return e;
    bool eof = false;
    if (Error f = co_await fill(eof_ok, eof); f != Error::none) co_return f;
    if (eof) {
      end = done_ = true;
      co_return Error::none;
    }
  }
}

awaitable<Error> StreamBodySink::flush() {
  if (held_.empty()) co_return Error::none;
  dl_.arm(timeout_);
  auto [ec, n] = co_await asio::async_write(s_, asio::buffer(held_), use_nothrow);
  held_.clear();
  if (ec) co_return dl_.expired() ? Error::write_timeout : Error::write;
  co_return Error::none;
}

awaitable<Error> StreamBodySink::write(std::string_view data, bool more) {
  if (chunked_ && (more || !held_.empty())) {
    append_chunk_header(held_, data.size());
    held_.append(data);
    held_ += "\r\n";
    if (more && held_.size() < kHoldMax) co_return Error::none;
    co_return co_await flush();
  }
  // One gather write, without copying the span.
  std::string chunk_head;
  if (chunked_) append_chunk_header(chunk_head, data.size());
  std::array<asio::const_buffer, 3> bufs{asio::buffer(chunk_head), asio::buffer(data),
                                         asio::buffer("\r\n", chunked_ ? 2 : 0)};
  dl_.arm(timeout_);
  auto [ec, n] = co_await asio::async_write(s_, bufs, use_nothrow);
  if (ec) co_return dl_.expired() ? Error::write_timeout : Error::write;
  co_return Error::none;
}

awaitable<Error> StreamBodySink::finish(std::string_view trailers) {
  if (chunked_) {
    held_ += "0\r\n";
    append_allowed_trailers(trailers, held_);  // no framing, routing, auth or forwarding fields
    held_ += "\r\n";
  }
  co_return co_await flush();
}

}  // namespace ferry::proxy::http1
