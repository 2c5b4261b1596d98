// Character classes and small text helpers of HTTP's grammar (RFC 9110 §5, RFC 3986 §3),
// shared by the HTTP/1 codec and the protocol-neutral field checks. Header only, constexpr
// table; pure functions, any thread, no allocation.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace ferry::proxy::http::chars {

enum : uint8_t {
  kTchar = 1,       // token character (RFC 9110 §5.6.2)
  kFieldChar = 2,   // allowed inside a field value: VCHAR, SP, HTAB, obs-text
  kTargetChar = 4,  // allowed inside request-target: anything but CTL / SP / DEL
  kHexDigit = 8,
  kHostChar = 16,   // reg-name characters: unreserved / sub-delims / "%" (RFC 3986 §3.2.2)
  kAlnum = 32,
  kPathChar = 64,   // origin-form characters: pchar / "/" / "?" (RFC 9112 §3.2.1), "%" checked apart
};

constexpr std::array<uint8_t, 256> make_table() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    uint8_t v = 0;
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (alnum || (c != 0 && std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) !=
                                std::string_view::npos))
      v |= kTchar;
    if (c == '\t' || (c >= 0x20 && c != 0x7f)) v |= kFieldChar;
    if (c > 0x20 && c != 0x7f) v |= kTargetChar;
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) v |= kHexDigit;
    if (alnum) v |= kAlnum;
    if (alnum || (c != 0 && std::string_view("-._~!$&'()*+,;=%").find(static_cast<char>(c)) !=
                                std::string_view::npos))
      v |= kHostChar;
    if (alnum || (c != 0 && std::string_view("-._~!$&'()*+,;=%:@/?").find(static_cast<char>(c)) !=
                                std::string_view::npos))
      v |= kPathChar;
    t[static_cast<size_t>(c)] = v;
  }
  return t;
}
inline constexpr std::array<uint8_t, 256> kTable = make_table();

inline bool is(char c, uint8_t cls) { return (kTable[static_cast<unsigned char>(c)] & cls) != 0; }
inline bool is_ows(char c) { return c == ' ' || c == '\t'; }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// The value of a hex digit (the caller checked kHexDigit).
inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = lower(c);
  return c - 'a' + 10;
}

// Case-insensitive compare against a lower-case ASCII literal.
inline bool ieq_lower(std::string_view a, std::string_view lower_lit) {
  if (a.size() != lower_lit.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if ((a[i] | (a[i] >= 'A' && a[i] <= 'Z' ? 0x20 : 0)) != lower_lit[i]) return false;
  return true;
}

inline std::string_view trim_ows(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && is_ows(s[b])) ++b;
  while (e > b && is_ows(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// Iterates the elements of a comma-separated list (RFC 9110 §5.6.1), skipping empty elements.
// Returns false when the list is exhausted.
inline bool next_element(std::string_view& list, std::string_view& elem) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view e = trim_ows(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (!e.empty()) {
      elem = e;
      return true;
    }
  }
  return false;
}

// Every byte of `s` is of class `cls`, and each "%" starts a complete pct-encoded triplet.
inline bool chars_ok(std::string_view s, uint8_t cls) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (!is(s[i], cls)) return false;
    if (s[i] == '%') {
      if (i + 2 >= s.size() || !is(s[i + 1], kHexDigit) || !is(s[i + 2], kHexDigit)) return false;
      i += 2;
    }
  }
  return true;
}

}  // namespace ferry::proxy::http::chars
