// Chunked decoder and encoder (RFC 9112 §7.1). See chunked.h for the contract.
#include "http1/chunked.h"

#include "http/chars.h"

namespace ferry::proxy::http1 {

using namespace http::chars;

namespace {
constexpr size_t kMaxChunkLine = 4096;     // chunk-size + extensions, per line
constexpr size_t kMaxTrailers = 16 * 1024;  // whole trailer section
}  // namespace

ChunkedDecoder::Step ChunkedDecoder::step(std::string_view in) {
  Step st;
  size_t i = 0;
  const size_t n = in.size();
  auto fail = [&]() {
    state_ = State::error;
    st.consumed = i;
    st.error = true;
    return st;
  };
  while (i < n) {
    switch (state_) {
      case State::data: {
        const size_t take = (n - i) < remaining_ ? (n - i) : static_cast<size_t>(remaining_);
        st.data = in.substr(i, take);
        i += take;
        remaining_ -= take;
        if (remaining_ == 0) state_ = State::data_cr;
        st.consumed = i;
        return st;
      }
      case State::last_lf:
        if (in[i] != '\n') return fail();
        ++i;
        state_ = State::done;
        st.consumed = i;
        st.done = true;
        return st;
      case State::done:
        st.consumed = i;
        st.done = true;
        return st;
      case State::error:
        st.consumed = i;
        st.error = true;
        return st;
      case State::trailer_start:
      case State::trailer_line:
      case State::trailer_lf:
        if (!trailer_byte(in[i])) return fail();
        ++i;
        break;
      case State::size:
      case State::size_ext:
      case State::size_lf:
      case State::data_cr:
      case State::data_lf:
        if (!framing_byte(in[i])) return fail();
        ++i;
        break;
    }
  }
  st.consumed = i;
  st.done = state_ == State::done;
  st.error = state_ == State::error;
  return st;
}

bool ChunkedDecoder::framing_byte(char c) {
  switch (state_) {
    case State::size:
      if (is(c, kHexDigit)) {
        if (++size_digits_ > 16) return false;
        remaining_ = (remaining_ << 4) | static_cast<uint64_t>(hex_value(c));
      } else if (size_digits_ == 0) {
        return false;
      } else if (c == '\r') {
        state_ = State::size_lf;
      } else if (c == ';') {
        state_ = State::size_ext;
        size_digits_ = 1;  // in size_ext: 1 = after ';'
      } else if (is_ows(c)) {
        state_ = State::size_ext;
        size_digits_ = 0;  // in size_ext: 0 = BWS before ';'
      } else {
        return false;
      }
      return ++line_bytes_ <= kMaxChunkLine;
    case State::size_ext:
      if (++line_bytes_ > kMaxChunkLine) return false;
      if (size_digits_ == 0) {
        if (c == ';')
          size_digits_ = 1;
        else if (!is_ows(c))
          return false;
      } else if (c == '\r') {
        state_ = State::size_lf;
      } else if (!is(c, kFieldChar)) {
        return false;
      }
      return true;
    case State::size_lf:
      if (c != '\n') return false;
      line_bytes_ = 0;
      size_digits_ = 0;
      if (remaining_ == 0) {
        state_ = State::trailer_start;
        trailer_bytes_ = 0;
      } else {
        state_ = State::data;
      }
      return true;
    case State::data_cr:
      if (c != '\r') return false;
      state_ = State::data_lf;
      return true;
    case State::data_lf:
      if (c != '\n') return false;
      state_ = State::size;
      remaining_ = 0;
      size_digits_ = 0;
      line_bytes_ = 0;
      return true;
    default:
      return false;
  }
}

bool ChunkedDecoder::trailer_byte(char c) {
  if (++trailer_bytes_ > kMaxTrailers) return false;
  switch (state_) {
    case State::trailer_start:
      if (c == '\r') {
        state_ = State::last_lf;
        return true;
      }
      if (!is(c, kTchar)) return false;  // obs-fold, bare LF, empty name, CTL
      state_ = State::trailer_line;
      size_digits_ = 0;  // in trailer_line: 0 = in name, 1 = in value
      break;
    case State::trailer_line:
      if (size_digits_ == 0) {
        if (c == ':')
          size_digits_ = 1;
        else if (!is(c, kTchar))
          return false;
      } else if (c == '\r') {
        state_ = State::trailer_lf;
      } else if (!is(c, kFieldChar)) {
        return false;
      }
      break;
    case State::trailer_lf:
      if (c != '\n') return false;
      state_ = State::trailer_start;
      break;
    default:
      return false;
  }
  if (trailers_) *trailers_ += c;
  return true;
}

void append_chunk_header(std::string& out, size_t n) {
  char tmp[2 * sizeof(size_t) + 2];
  size_t len = 0;
  char* const end = tmp + sizeof(tmp);
  char* q = end;
  *--q = '\n';
  *--q = '\r';
  do {
    *--q = "0123456789abcdef"[n & 0xf];
    n >>= 4;
  } while (n != 0);
  len = static_cast<size_t>(end - q);
  out.append(q, len);
}

}  // namespace ferry::proxy::http1
