#include <catch2/catch.hpp>

#include "acme/base64url.h"

using ferry::acme::base64url_decode;
using ferry::acme::base64url_encode;

TEST_CASE("base64url: RFC 4648 test vectors without padding", "[acme][base64url]") {
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
}

TEST_CASE("base64url: decoding round-trips and rejects bad input", "[acme][base64url]") {
  for (const char* s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xfb\xff"})
    CHECK(base64url_decode(base64url_encode(s)) == std::string(s));
  CHECK_FALSE(base64url_decode("Zm9v=").has_value());   // padding
  CHECK_FALSE(base64url_decode("Zm+v").has_value());    // standard alphabet
  CHECK_FALSE(base64url_decode("Z").has_value());       // impossible length
  CHECK_FALSE(base64url_decode("Zh").has_value());      // non-canonical trailing bits
}
