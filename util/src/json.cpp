#include "ferry/util/json.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "ferry/util/utf8.h"

namespace ferry::util {

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          if (c < 0x20) {
            out += "\\u00";
            out += kHex[c >> 4];
            out += kHex[c & 15];
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    const size_t n = utf8_sequence_length(s, i);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  out += '"';
}

std::string json_string(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

void JsonWriter::push() {
  if (depth_ < 64)
    first_ |= uint64_t{1} << depth_;
  else
    deep_.push_back(true);
  ++depth_;
}

void JsonWriter::pop() {
  if (depth_ == 0) return;  // unbalanced end_*: tolerated, as before (callers are tested)
  --depth_;
  if (depth_ >= 64) deep_.pop_back();
}

void JsonWriter::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (depth_ == 0) return;
  const size_t d = depth_ - 1;
  bool first;
  if (d < 64) {
    first = (first_ >> d) & 1;
    first_ &= ~(uint64_t{1} << d);
  } else {
    first = deep_.back();
    deep_.back() = false;
  }
  if (!first) *out_ += ',';
}

JsonWriter& JsonWriter::open(char bracket) {
  before_value();
  *out_ += bracket;
  push();
  return *this;
}

JsonWriter& JsonWriter::close(char bracket) {
  *out_ += bracket;
  pop();
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view k) {
  before_value();
  append_json_string(*out_, k);
  *out_ += ':';
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::value(std::string_view s) {
  before_value();
  append_json_string(*out_, s);
  return *this;
}

JsonWriter& JsonWriter::value(bool b) {
  before_value();
  *out_ += b ? "true" : "false";
  return *this;
}

template <class T>
JsonWriter& JsonWriter::value_integer(T v) {
  before_value();
  char buf[24];  // 20 digits and a sign at most
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_->append(buf, r.ptr);
  return *this;
}
template JsonWriter& JsonWriter::value_integer(int64_t);
template JsonWriter& JsonWriter::value_integer(uint64_t);

JsonWriter& JsonWriter::value(double d) {
  before_value();
  if (!std::isfinite(d)) d = 0;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", d);
  *out_ += buf;
  return *this;
}

JsonWriter& JsonWriter::value_fixed(double d, int decimals) {
  before_value();
  if (!std::isfinite(d)) d = 0;
  if (decimals < 0) decimals = 0;
  if (decimals > 9) decimals = 9;
  char buf[352];  // "%.9f" of the largest double: 309 digits, the sign, the point, 9 decimals
  std::snprintf(buf, sizeof buf, "%.*f", decimals, d);
  *out_ += buf;
  return *this;
}

JsonWriter& JsonWriter::null() {
  before_value();
  *out_ += "null";
  return *this;
}

JsonWriter& JsonWriter::raw(std::string_view json) {
  before_value();
  out_->append(json);
  return *this;
}

JsonWriter& JsonWriter::field_strings(std::string_view k, const std::vector<std::string>& v) {
  key(k);
  begin_array();
  for (const auto& s : v) value(s);
  return end_array();
}

}  // namespace ferry::util
