// A small streaming JSON writer for the admin API's responses: members in the order written,
// numbers printed compactly (integers exactly, doubles with up to 6 significant digits and never
// NaN/Infinity, which become 0), strings escaped with invalid UTF-8 replaced by U+FFFD so the
// output is always valid JSON whatever a config file or certificate contains.
//
// Usage: w.begin_object(); w.key("a"); w.value(1); w.end_object(); w.str(). The writer inserts
// the commas; it does not check that keys and values alternate (callers are small and tested).
// Pure; one writer per thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace ferry::daemon::api {

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);

  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(bool b);
  template <class T>
    requires(std::is_integral_v<T> && !std::is_same_v<T, bool>)
  JsonWriter& value(T v) {
    if constexpr (std::is_signed_v<T>)
      return value_signed(static_cast<int64_t>(v));
    else
      return value_unsigned(static_cast<uint64_t>(v));
  }
  JsonWriter& value(double d);
  JsonWriter& null();
  // Inserts already serialized JSON (e.g. mesh::to_json's output) as one value.
  JsonWriter& raw(std::string_view json);

  // key(k) then value(v).
  template <class T>
  JsonWriter& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }
  JsonWriter& field_strings(std::string_view k, const std::vector<std::string>& v);

  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  JsonWriter& value_signed(int64_t v);
  JsonWriter& value_unsigned(uint64_t v);
  void before_value();

  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written in it yet
  bool after_key_ = false;
};

// `s` as a JSON string literal with quotes (invalid UTF-8 -> U+FFFD).
std::string json_string(std::string_view s);

}  // namespace ferry::daemon::api
