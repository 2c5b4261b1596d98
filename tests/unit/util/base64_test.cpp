// The one base64 codec (ferry/util/base64.h): RFC 4648 vectors, both alphabets, the padding
// policies and the strict rejections the key and JOSE decoders rely on.
#include <catch2/catch.hpp>

#include "ferry/util/base64.h"

using ferry::util::base64_decode;
using ferry::util::base64_encode;
using ferry::util::Base64Alphabet;
using ferry::util::Base64Padding;
using ferry::util::base64url_decode;
using ferry::util::base64url_encode;
using ferry::util::is_base64url_alphabet;

namespace {
constexpr auto kStd = Base64Alphabet::standard;
constexpr auto kUrl = Base64Alphabet::url;
}  // namespace

TEST_CASE("base64: RFC 4648 §10 test vectors", "[util][base64]") {
  const std::pair<const char*, const char*> v[] = {{"", ""},           {"f", "Zg=="},         {"fo", "Zm8="},
                                                   {"foo", "Zm9v"},    {"foob", "Zm9vYg=="},  {"fooba", "Zm9vYmE="},
                                                   {"foobar", "Zm9vYmFy"}};
  for (auto [plain, enc] : v) {
    INFO(plain);
    CHECK(base64_encode(plain) == enc);
    CHECK(base64_decode(enc) == std::string(plain));
    CHECK(base64_decode(enc, kStd, Base64Padding::optional) == std::string(plain));
  }
}

TEST_CASE("base64url: RFC 4648 test vectors without padding", "[util][base64]") {
  // RFC 4648 §10, padding removed (RFC 7515 §2).
  CHECK(base64url_encode("") == "");
  CHECK(base64url_encode("f") == "Zg");
  CHECK(base64url_encode("fo") == "Zm8");
  CHECK(base64url_encode("foo") == "Zm9v");
  CHECK(base64url_encode("foob") == "Zm9vYg");
  CHECK(base64url_encode("fooba") == "Zm9vYmE");
  CHECK(base64url_encode("foobar") == "Zm9vYmFy");
  // The URL-safe alphabet: 0xfb 0xff -> "-_8" (standard base64 would be "+/8=").
  CHECK(base64url_encode("\xfb\xff") == "-_8");
  CHECK(base64_encode("\xfb\xff") == "+/8=");
  CHECK(base64_encode("\xfb\xff", kStd, false) == "+/8");
}

TEST_CASE("base64url: decoding round-trips and rejects bad input", "[util][base64]") {
  for (const char* s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xfb\xff"})
    CHECK(base64url_decode(base64url_encode(s)) == std::string(s));
  CHECK_FALSE(base64url_decode("Zm9v=").has_value());   // padding
  CHECK_FALSE(base64url_decode("Zg==").has_value());    // padding, even the right amount
  CHECK_FALSE(base64url_decode("Zm+v").has_value());    // standard alphabet
  CHECK_FALSE(base64url_decode("Z").has_value());       // impossible length
  CHECK_FALSE(base64url_decode("Zh").has_value());      // non-canonical trailing bits
}

TEST_CASE("base64: round trips of every length and byte value", "[util][base64]") {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    bytes += static_cast<char>((i * 37 + 11) & 0xff);
    for (auto a : {kStd, kUrl})
      for (bool pad : {true, false}) {
        const std::string enc = base64_encode(bytes, a, pad);
        REQUIRE(enc.size() == (pad ? (bytes.size() + 2) / 3 * 4 : (bytes.size() * 4 + 2) / 3));
        CHECK(base64_decode(enc, a, pad ? Base64Padding::required : Base64Padding::none) == bytes);
        CHECK(base64_decode(enc, a, Base64Padding::optional) == bytes);
      }
  }
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  CHECK(base64_decode(base64_encode(all)) == all);
  CHECK(base64url_decode(base64url_encode(all)) == all);
}

TEST_CASE("base64: strict decoding", "[util][base64]") {
  // Padding policies.
  CHECK_FALSE(base64_decode("Zg", kStd, Base64Padding::required));    // missing
  CHECK_FALSE(base64_decode("Zg=", kStd, Base64Padding::required));   // one short
  CHECK_FALSE(base64_decode("Zg===", kStd, Base64Padding::required)); // one too many
  CHECK_FALSE(base64_decode("Zm9v=", kStd, Base64Padding::required)); // none needed
  CHECK_FALSE(base64_decode("====", kStd, Base64Padding::required));
  CHECK_FALSE(base64_decode("Zg==", kStd, Base64Padding::none));
  CHECK(base64_decode("Zg", kStd, Base64Padding::optional) == std::string("f"));
  CHECK(base64_decode("Zg==", kStd, Base64Padding::optional) == std::string("f"));
  CHECK_FALSE(base64_decode("Zg=", kStd, Base64Padding::optional));    // in between
  CHECK_FALSE(base64_decode("Zg===", kStd, Base64Padding::optional));
  CHECK_FALSE(base64_decode("Zm9v=", kStd, Base64Padding::optional));
  // Characters: the other alphabet, whitespace, '=' inside, non-ASCII.
  CHECK_FALSE(base64_decode("-_8=", kStd));
  CHECK_FALSE(base64_decode("+/8", kUrl, Base64Padding::none));
  CHECK_FALSE(base64_decode(" Zm9v", kStd));
  CHECK_FALSE(base64_decode("Zm9v\n", kStd));
  CHECK_FALSE(base64_decode("Zm 9v", kStd));
  CHECK_FALSE(base64_decode("Zg==Zm9v", kStd));
  CHECK_FALSE(base64_decode("Zm9\xc3\xa9", kStd));
  CHECK_FALSE(base64_decode(std::string_view("Zm9\0", 4), kStd));
  // Length and canonical form.
  CHECK_FALSE(base64_decode("Zm9vY", kStd, Base64Padding::optional));  // 4n+1
  CHECK_FALSE(base64_decode("Zh==", kStd));  // "f" is "Zg==": the 4 unused bits of 'h' are not zero
  CHECK_FALSE(base64_decode("Zm9=", kStd));  // "fo" is "Zm8=": 2 unused bits not zero
  // A WireGuard key: 32 bytes are 43 characters and one '=', the last character carrying 2 zero bits.
  const std::string key = base64_encode(std::string(32, '\xff'));
  CHECK(key == "//////////////////////////////////////////8=");
  CHECK(base64_decode(key)->size() == 32);
  CHECK_FALSE(base64_decode("//////////////////////////////////////////9="));
}

TEST_CASE("is_base64url_alphabet", "[util][base64]") {
  CHECK(is_base64url_alphabet("abcXYZ019-_"));
  CHECK_FALSE(is_base64url_alphabet(""));
  CHECK_FALSE(is_base64url_alphabet("ab="));
  CHECK_FALSE(is_base64url_alphabet("a+b"));
  CHECK_FALSE(is_base64url_alphabet("a/b"));
  CHECK_FALSE(is_base64url_alphabet("a b"));
}
