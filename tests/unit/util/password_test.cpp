// util/password.h: known answers (RFC 7914 scrypt and PBKDF2-HMAC-SHA256 vectors), the
// hash_password/verify_password round trip and the accepted formats.
#include <catch2/catch.hpp>

#include <string>

#include "ferry/util/password.h"
#include "ferry/util/password_hash.h"

namespace {
std::string to_hex(const std::string& bytes) {
  static const char* const kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) out += {kDigits[c >> 4], kDigits[c & 15]};
  return out;
}
}  // namespace

TEST_CASE("PBKDF2-HMAC-SHA256 known answers (RFC 7914 section 11)", "[util][password]") {
  auto a = ferry::util::derive_pbkdf2_sha256("passwd", "salt", 1, 64);
  REQUIRE(a);
  CHECK(to_hex(*a) ==
        "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783");
  auto b = ferry::util::derive_pbkdf2_sha256("Password", "NaCl", 80000, 64);
  REQUIRE(b);
  CHECK(to_hex(*b) ==
        "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
        "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d");
}

TEST_CASE("scrypt known answers (RFC 7914 section 12)", "[util][password]") {
  auto a = ferry::util::derive_scrypt("", "", 4, 1, 1, 64);
  REQUIRE(a);
  CHECK(to_hex(*a) ==
        "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
        "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906");
  auto b = ferry::util::derive_scrypt("password", "NaCl", 10, 8, 16, 64);
  REQUIRE(b);
  CHECK(to_hex(*b) ==
        "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
        "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640");
  auto c = ferry::util::derive_scrypt("pleaseletmein", "SodiumChloride", 14, 8, 1, 64);
  REQUIRE(c);
  CHECK(to_hex(*c) ==
        "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2"
        "d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887");
}

TEST_CASE("hash_password makes a scrypt line that verifies and parses", "[util][password]") {
  std::string error;
  auto h = ferry::util::hash_password("correct horse", error);
  REQUIRE(h);
  CHECK(h->rfind("$scrypt$ln=15,r=8,p=1$", 0) == 0);
  std::string why;
  auto parsed = ferry::util::parse_password_hash(*h, why);
  REQUIRE(parsed);
  CHECK(parsed->salt.size() == 16);
  CHECK(parsed->hash.size() == 32);
  CHECK(ferry::util::verify_password("correct horse", *h));
  CHECK_FALSE(ferry::util::verify_password("correct horsf", *h));
  CHECK_FALSE(ferry::util::verify_password("", *h));
  auto again = ferry::util::hash_password("correct horse", error);
  REQUIRE(again);
  CHECK(*again != *h);  // a fresh salt each time
}

TEST_CASE("verify_password accepts pbkdf2-sha256 and refuses malformed hashes", "[util][password]") {
  ferry::util::PasswordHash h;
  h.kind = ferry::util::PasswordHash::Kind::pbkdf2_sha256;
  h.iterations = 1000;
  h.salt = "0123456789abcdef";
  h.hash = *ferry::util::derive_pbkdf2_sha256("s3cret", h.salt, 1000, 32);
  std::string text = ferry::util::format_password_hash(h);
  CHECK(text.rfind("$pbkdf2-sha256$i=1000$", 0) == 0);
  CHECK(ferry::util::verify_password("s3cret", text));
  CHECK_FALSE(ferry::util::verify_password("s3cret!", text));
  CHECK_FALSE(ferry::util::verify_password("s3cret", "s3cret"));
  CHECK_FALSE(ferry::util::verify_password("", ""));
  text.back() = text.back() == 'A' ? 'B' : 'A';
  CHECK_FALSE(ferry::util::verify_password("s3cret", text));
}
