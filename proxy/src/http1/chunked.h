// The chunked transfer coding (RFC 9112 §7.1): an incremental decoder and the encoder's chunk
// header. Pure state machine, any thread, no allocation except the kept trailers, no
// exceptions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ferry::proxy::http1 {

// Incremental chunked-body decoder. Feed it bytes; it reports payload spans within the fed
// buffer. Trailers are validated, and kept only when asked (keep_trailers).
class ChunkedDecoder {
 public:
  struct Step {
    size_t consumed = 0;      // bytes of input used by this step
    std::string_view data;    // payload bytes inside the input (may be empty)
    bool done = false;        // final chunk and trailers complete
    bool error = false;       // malformed: answer 400 (request) / 502 (response) and close
  };
  // Decodes from the start of `in`, returns after at most one payload span. Call repeatedly
  // until consumed==0 (needs more input), done, or error.
  Step step(std::string_view in);
  bool done() const { return state_ == State::done; }
  // From now on, the trailer section is appended to `*out` as received ("name: value\r\n"
  // per field, validated as above; bounded by the trailer limit). nullptr: discarded.
  void keep_trailers(std::string* out) { trailers_ = out; }

 private:
  // One byte of a chunk-size line or of the CRLF after a chunk's data; false: malformed.
  bool framing_byte(char c);
  // One byte of the trailer section (before its final CRLF's LF); false: malformed or over
  // the trailer limit. A valid byte is kept when keep_trailers asked for it.
  bool trailer_byte(char c);

  enum class State { size, size_ext, size_lf, data, data_cr, data_lf, trailer_start, trailer_line, trailer_lf, last_lf, done, error };
  State state_ = State::size;
  uint64_t remaining_ = 0;
  int size_digits_ = 0;
  size_t trailer_bytes_ = 0;
  size_t line_bytes_ = 0;  // bytes of the current chunk-size line (size + extensions)
  std::string* trailers_ = nullptr;
};

// Appends "<hex>\r\n" to out.
void append_chunk_header(std::string& out, size_t n);
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace ferry::proxy::http1
