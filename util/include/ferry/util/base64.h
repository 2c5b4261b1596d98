// The project's one base64 codec (RFC 4648): standard (§4, "+/") and URL-safe (§5, "-_")
// alphabets, with or without '=' padding. Users: admin password hashes (standard, written
// without padding, read with or without it), WireGuard keys (standard, padded, 32 bytes), ACME /
// JOSE (base64url without padding, RFC 7515 §2), ACME challenge tokens (base64url alphabet).
//
// Decoding is strict, because keys and signatures must have exactly one text form: it refuses
// characters outside the alphabet (whitespace included: callers that allow surrounding
// whitespace trim it first), an impossible length, padding where the policy forbids it or of the
// wrong length, and non-canonical text (unused low bits of the last character not zero).
//
// Pure functions; any thread; nothing throws except std::bad_alloc.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ferry::util {

enum class Base64Alphabet { standard, url };

// What a decoder accepts as padding:
//   none      no '=' at all (base64url in JOSE);
//   required  '=' up to a multiple of 4 characters, exactly as many as needed (WireGuard keys);
//   optional  either of the two forms above, nothing in between (password hashes).
enum class Base64Padding { none, required, optional };

// `bytes` in base64; `pad` appends '=' up to a multiple of 4 characters.
std::string base64_encode(std::string_view bytes, Base64Alphabet alphabet = Base64Alphabet::standard,
                          bool pad = true);

// The bytes of `text`, or nullopt when it is not strictly valid (see above).
std::optional<std::string> base64_decode(std::string_view text, Base64Alphabet alphabet = Base64Alphabet::standard,
                                         Base64Padding padding = Base64Padding::required);
// The same into `out` (its capacity reused: no allocation once it is big enough); false, with
// `out` holding garbage, when `text` is not strictly valid.
bool base64_decode_into(std::string_view text, std::string& out, Base64Alphabet alphabet = Base64Alphabet::standard,
                        Base64Padding padding = Base64Padding::required);

// base64url without padding (RFC 7515 §2).
inline std::string base64url_encode(std::string_view bytes) { return base64_encode(bytes, Base64Alphabet::url, false); }
inline std::optional<std::string> base64url_decode(std::string_view text) {
  return base64_decode(text, Base64Alphabet::url, Base64Padding::none);
}

// True when `text` is not empty and every character is in the base64url alphabet (A-Z a-z 0-9
// - _), without checking that it decodes: ACME tokens (RFC 8555 §8.3) are only asked to use the
// alphabet.
bool is_base64url_alphabet(std::string_view text);

}  // namespace ferry::util
