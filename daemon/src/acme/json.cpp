#include "acme/json.h"

#include <cstdint>
#include <charconv>
#include <string>

#include "ferry/util/utf8.h"

namespace ferry::acme {
namespace {

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  Result<JsonValue> run() {
    skip_ws();
    JsonValue v;
    if (!value(v, 0)) return Result<JsonValue>::fail(error_);
    skip_ws();
    if (pos_ != s_.size()) return Result<JsonValue>::fail(at("trailing characters"));
    return Result<JsonValue>::ok(std::move(v));
  }

 private:
  std::string at(const char* what) const { return std::string(what) + " at offset " + std::to_string(pos_); }
  bool fail(const char* what) {
    if (error_.empty()) error_ = at(what);
    return false;
  }
  bool eof() const { return pos_ >= s_.size(); }
  char peek() const { return s_[pos_]; }

  void skip_ws() {
    while (!eof() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) ++pos_;
  }

  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return fail("invalid literal");
    pos_ += word.size();
    return true;
  }

  bool value(JsonValue& out, int depth) {
    if (eof()) return fail("unexpected end of input");
    switch (peek()) {
      case '{': return object(out, depth + 1);
      case '[': return array(out, depth + 1);
      case '"': {
        std::string str;
        if (!string(str)) return false;
        out = JsonValue(std::move(str));
        return true;
      }
      case 't': out = JsonValue(true); return literal("true");
      case 'f': out = JsonValue(false); return literal("false");
      case 'n': out = JsonValue(); return literal("null");
      default: return number(out);
    }
  }

  bool object(JsonValue& out, int depth) {
    if (depth > kMaxJsonDepth) return fail("nesting too deep");
    ++pos_;  // '{'
    JsonValue::Object members;
    skip_ws();
    if (!eof() && peek() == '}') {
      ++pos_;
      out = JsonValue(std::move(members));
      return true;
    }
    for (;;) {
      skip_ws();
      if (eof() || peek() != '"') return fail("expected member name");
      std::string name;
      if (!string(name)) return false;
      for (const auto& m : members)
        if (m.first == name) return fail("duplicate member name");
      skip_ws();
      if (eof() || peek() != ':') return fail("expected ':'");
      ++pos_;
      skip_ws();
      JsonValue v;
      if (!value(v, depth)) return false;
      members.emplace_back(std::move(name), std::move(v));
      skip_ws();
      if (eof()) return fail("unterminated object");
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') {
        ++pos_;
        out = JsonValue(std::move(members));
        return true;
      }
      return fail("expected ',' or '}'");
    }
  }

  bool array(JsonValue& out, int depth) {
    if (depth > kMaxJsonDepth) return fail("nesting too deep");
    ++pos_;  // '['
    JsonValue::Array items;
    skip_ws();
    if (!eof() && peek() == ']') {
      ++pos_;
      out = JsonValue(std::move(items));
      return true;
    }
    for (;;) {
      skip_ws();
      JsonValue v;
      if (!value(v, depth)) return false;
      items.push_back(std::move(v));
      skip_ws();
      if (eof()) return fail("unterminated array");
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == ']') {
        ++pos_;
        out = JsonValue(std::move(items));
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }

  bool number(JsonValue& out) {
    const size_t start = pos_;
    auto digit = [&] { return !eof() && peek() >= '0' && peek() <= '9'; };
    if (!eof() && peek() == '-') ++pos_;
    if (!digit()) return fail("invalid value");
    if (peek() == '0') {
      ++pos_;
      if (digit()) return fail("leading zero in number");
    } else {
      while (digit()) ++pos_;
    }
    if (!eof() && peek() == '.') {
      ++pos_;
      if (!digit()) return fail("digit expected after '.'");
      while (digit()) ++pos_;
    }
    if (!eof() && (peek() == 'e' || peek() == 'E')) {
      ++pos_;
      if (!eof() && (peek() == '+' || peek() == '-')) ++pos_;
      if (!digit()) return fail("digit expected in exponent");
      while (digit()) ++pos_;
    }
    out = JsonValue(JsonValue::Number{std::string(s_.substr(start, pos_ - start))});
    return true;
  }

  bool hex4(uint32_t& v) {
    if (s_.size() - pos_ < 4) return fail("truncated \\u escape");
    v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= uint32_t(c - '0');
      else if (c >= 'a' && c <= 'f') v |= uint32_t(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= uint32_t(c - 'A' + 10);
      else return fail("invalid \\u escape");
    }
    return true;
  }

  // One raw UTF-8 sequence starting at pos_ (first byte >= 0x80), validated (RFC 3629: no
  // overlongs, no surrogates, at most U+10FFFF; ferry/util/utf8.h) and copied.
  bool utf8(std::string& out) {
    const size_t len = util::utf8_sequence_length(s_, pos_);
    if (len == 0) return fail("invalid UTF-8");
    out.append(s_.substr(pos_, len));
    pos_ += len;
    return true;
  }

  bool string(std::string& out) {
    ++pos_;  // opening quote
    for (;;) {
      if (eof()) return fail("unterminated string");
      const char c = peek();
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (uint8_t(c) < 0x20) return fail("control character in string");
      if (uint8_t(c) >= 0x80) {
        if (!utf8(out)) return false;
        continue;
      }
      if (c != '\\') {
        out += c;
        ++pos_;
        continue;
      }
      ++pos_;
      if (eof()) return fail("unterminated escape");
      const char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp;
          if (!hex4(cp)) return false;
          if (cp >= 0xdc00 && cp <= 0xdfff) return fail("lone low surrogate");
          if (cp >= 0xd800 && cp <= 0xdbff) {
            if (s_.substr(pos_, 2) != "\\u") return fail("lone high surrogate");
            pos_ += 2;
            uint32_t lo;
            if (!hex4(lo)) return false;
            if (lo < 0xdc00 || lo > 0xdfff) return fail("invalid surrogate pair");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          }
          util::append_utf8(out, cp);
          break;
        }
        default: return fail("invalid escape");
      }
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace

double JsonValue::as_double() const {
  const Number* n = as_number();
  if (!n) return 0.0;
  double d = 0.0;  // from_chars, unlike strtod, ignores the C locale's decimal point
  const auto r = std::from_chars(n->text.data(), n->text.data() + n->text.size(), d);
  return r.ec == std::errc() ? d : 0.0;  // out of range (e.g. 1e999) reads as 0
}

const JsonValue* JsonValue::get(std::string_view name) const {
  const Object* o = as_object();
  if (!o) return nullptr;
  for (const auto& m : *o)
    if (m.first == name) return &m.second;
  return nullptr;
}

const std::string* JsonValue::get_string(std::string_view name) const {
  const JsonValue* v = get(name);
  return v ? v->as_string() : nullptr;
}

Result<JsonValue> parse_json(std::string_view text, size_t max_bytes) {
  if (text.size() > max_bytes) return Result<JsonValue>::fail("JSON document larger than " + std::to_string(max_bytes) + " bytes");
  return Parser(text).run();
}

}  // namespace ferry::acme
