#include "ferry/util/base64.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdint>

namespace ferry::util {
namespace {

// -1 for a character outside the alphabet.
constexpr std::array<int8_t, 256> make_table(Base64Alphabet a) {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  const char* chars = a == Base64Alphabet::standard
                          ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                          : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(chars[i])] = static_cast<int8_t>(i);
  return t;
}

constexpr auto kStandard = make_table(Base64Alphabet::standard);
constexpr auto kUrl = make_table(Base64Alphabet::url);

}  // namespace

// Encoding is OpenSSL's EVP_EncodeBlock (standard alphabet, padded, no line breaks); the URL
// alphabet and unpadded forms are derived from its output.
std::string base64_encode(std::string_view bytes, Base64Alphabet alphabet, bool pad) {
  std::string out((bytes.size() + 2) / 3 * 4 + 1, '\0');  // + the NUL EVP_EncodeBlock writes
  size_t written = 0;
  // EVP_EncodeBlock takes an int length: feed it whole groups of 3 bytes at most 3 MiB at once.
  constexpr size_t kChunk = size_t{3} << 20;
  for (size_t off = 0; off < bytes.size(); off += kChunk) {
    const size_t n = std::min(kChunk, bytes.size() - off);
    written += static_cast<size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data() + written),
                                                   reinterpret_cast<const unsigned char*>(bytes.data() + off),
                                                   static_cast<int>(n)));
  }
  out.resize(written);
  if (!pad)
    while (!out.empty() && out.back() == '=') out.pop_back();
  if (alphabet == Base64Alphabet::url)
    for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

// Decoding is written here because OpenSSL's EVP_DecodeBlock is lax where keys must not be:
// it skips leading and trailing whitespace, accepts non-canonical trailing bits, knows only the
// standard alphabet and returns padding as zero bytes the caller has to count and strip.
// (POCO's Base64Decoder, an istream, is just as lax and throws.)
bool base64_decode_into(std::string_view text, std::string& out, Base64Alphabet alphabet, Base64Padding padding) {
  out.clear();
  const auto& table = alphabet == Base64Alphabet::standard ? kStandard : kUrl;
  size_t pads = 0;
  while (pads < text.size() && text[text.size() - 1 - pads] == '=') ++pads;
  std::string_view body = text.substr(0, text.size() - pads);
  const size_t rest = body.size() % 4;  // characters in the last, partial group
  if (rest == 1) return false;          // 6 bits cannot make a byte
  const size_t needed = rest == 0 ? 0 : 4 - rest;
  switch (padding) {
    case Base64Padding::none:
      if (pads != 0) return false;
      break;
    case Base64Padding::required:
      if (pads != needed) return false;
      break;
    case Base64Padding::optional:
      if (pads != 0 && pads != needed) return false;
      break;
  }
  out.reserve(body.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : body) {
    const int v = table[static_cast<uint8_t>(c)];
    if (v < 0) return false;  // outside the alphabet, '=' inside the text included
    acc = (acc << 6 | static_cast<uint32_t>(v)) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>(acc >> bits & 0xff);
    }
  }
  return (acc & ((1u << bits) - 1)) == 0;  // non-canonical: the unused bits must be zero
}

std::optional<std::string> base64_decode(std::string_view text, Base64Alphabet alphabet, Base64Padding padding) {
  std::string out;
  if (!base64_decode_into(text, out, alphabet, padding)) return std::nullopt;
  return out;
}

bool is_base64url_alphabet(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text)
    if (kUrl[static_cast<uint8_t>(c)] < 0) return false;
  return true;
}

}  // namespace ferry::util
