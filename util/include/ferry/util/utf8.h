// UTF-8 (RFC 3629) validation and encoding, one place for the JSON writer and the ACME JSON
// reader. Pure functions; any thread; nothing throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ferry::util {

// Length (1..4) of the well-formed UTF-8 sequence that starts at s[i], or 0 when the bytes there
// are not one: a stray continuation byte, a lead byte C0, C1 or F5..FF, a truncated sequence, an
// overlong form, a surrogate (U+D800..U+DFFF) or a code point above U+10FFFF. Requires i < s.size().
size_t utf8_sequence_length(std::string_view s, size_t i);

// Appends code point `cp` as UTF-8 (1..4 bytes). `cp` must be at most U+10FFFF and not a
// surrogate (callers decode \u escapes and pair surrogates first).
void append_utf8(std::string& out, uint32_t cp);

}  // namespace ferry::util
