// The project's one JSON writer: the access log, the admin API (daemon/src/api, web/), ACME
// requests, the store's host lists and ferryctl all write JSON through it, so there is one
// string rule:
//
//   - valid UTF-8 is copied as it is (no \u escapes for non-ASCII; "/café" stays "/café");
//   - '"' and '\\' are escaped, control characters U+0000..U+001F become \b \f \n \r \t or
//     \u00XX (lowercase hex); everything else in ASCII, '/' and DEL included, is copied;
//   - every byte that is not part of a well-formed UTF-8 sequence (ferry/util/utf8.h: stray
//     continuation bytes, truncated sequences, overlong forms, surrogates, > U+10FFFF) becomes
//     \ufffd, one per byte.
//
// So the output is always valid JSON and valid UTF-8 whatever the input bytes were, and the
// same input always gives the same bytes (the JWS signs them).
//
// Numbers: integers exactly; doubles with up to 6 significant digits ("%.6g") or a fixed number
// of decimals (value_fixed); NaN and infinities, which JSON cannot hold, become 0.
//
// Nothing throws except std::bad_alloc, so the data plane (proxy/) may use it. A JsonWriter is
// not thread-safe: one writer per thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace ferry::util {

// Appends `s` as a JSON string literal, quotes included, by the rule above.
void append_json_string(std::string& out, std::string_view s);
// `s` as a JSON string literal, quotes included.
std::string json_string(std::string_view s);

// A streaming writer: members in the order written, no whitespace.
//
// Usage: w.begin_object(); w.key("a"); w.value(1); w.end_object(); w.str(). The writer inserts
// the commas; it does not check that keys and values alternate (callers are small and tested).
// Several top-level values in a row are written without separators (the access log writes one
// object per line and adds the newline itself).
class JsonWriter {
 public:
  // Writes into a string of its own (str(), take()).
  JsonWriter() : out_(&own_) {}
  // Appends to `out`, which must outlive the writer (the access log's batch buffer).
  explicit JsonWriter(std::string& out) : out_(&out) {}
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close(']'); }
  JsonWriter& key(std::string_view k);

  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(bool b);
  template <class T>
    requires(std::is_integral_v<T> && !std::is_same_v<T, bool>)
  JsonWriter& value(T v) {
    if constexpr (std::is_signed_v<T>)
      return value_integer(static_cast<int64_t>(v));
    else
      return value_integer(static_cast<uint64_t>(v));
  }
  JsonWriter& value(double d);
  // `d` with exactly `decimals` digits after the point ("%.*f"), e.g. 12.500 for 3.
  JsonWriter& value_fixed(double d, int decimals);
  JsonWriter& null();
  // Inserts already serialized JSON (e.g. a JWK, mesh::to_json's output) as one value.
  JsonWriter& raw(std::string_view json);

  // key(k) then value(v).
  template <class T>
  JsonWriter& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }
  JsonWriter& field_strings(std::string_view k, const std::vector<std::string>& v);

  const std::string& str() const { return *out_; }
  std::string take() { return std::move(*out_); }

 private:
  template <class T>
  JsonWriter& value_integer(T v);  // int64_t or uint64_t (instantiated in json.cpp)
  JsonWriter& open(char bracket);
  JsonWriter& close(char bracket);
  void before_value();
  void push();  // a container was opened
  void pop();   // a container was closed

  std::string own_;
  std::string* out_;
  // Per open container, whether nothing was written in it yet: bit d of first_ for depth
  // d < 64 (no allocation for the documents this project writes), deeper levels in deep_.
  uint64_t first_ = 0;
  size_t depth_ = 0;
  std::vector<bool> deep_;
  bool after_key_ = false;
};

}  // namespace ferry::util
