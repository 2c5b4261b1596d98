// UTF-8 validation and encoding (ferry/util/utf8.h).
#include <catch2/catch.hpp>

#include "ferry/util/utf8.h"

using ferry::util::append_utf8;
using ferry::util::utf8_sequence_length;

TEST_CASE("utf8_sequence_length accepts well-formed sequences of 1 to 4 bytes", "[util][utf8]") {
  CHECK(utf8_sequence_length("a", 0) == 1);
  CHECK(utf8_sequence_length(std::string_view("\0", 1), 0) == 1);
  CHECK(utf8_sequence_length("\xc2\x80", 0) == 2);          // U+0080, the first 2-byte one
  CHECK(utf8_sequence_length("\xc3\xa9", 0) == 2);          // é
  CHECK(utf8_sequence_length("\xe0\xa0\x80", 0) == 3);      // U+0800
  CHECK(utf8_sequence_length("\xe2\x82\xac", 0) == 3);      // €
  CHECK(utf8_sequence_length("\xed\x9f\xbf", 0) == 3);      // U+D7FF, just below the surrogates
  CHECK(utf8_sequence_length("\xee\x80\x80", 0) == 3);      // U+E000, just above them
  CHECK(utf8_sequence_length("\xf0\x90\x80\x80", 0) == 4);  // U+10000
  CHECK(utf8_sequence_length("\xf0\x9f\x98\x80", 0) == 4);  // 😀
  CHECK(utf8_sequence_length("\xf4\x8f\xbf\xbf", 0) == 4);  // U+10FFFF
  CHECK(utf8_sequence_length("x\xc3\xa9", 1) == 2);
}

TEST_CASE("utf8_sequence_length rejects overlongs, surrogates, out of range and truncation", "[util][utf8]") {
  for (const char* bad : {"\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xe0\x9f\xbf", "\xed\xa0\x80",
                          "\xed\xbf\xbf", "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
                          "\xff", "\xfe", "\xc3", "\xe2\x82", "\xf0\x9f\x98", "\xc3\x28", "\xe2\x28\xa1",
                          "\xf0\x9f\x28\x80"}) {
    INFO("bytes: " << bad);
    CHECK(utf8_sequence_length(bad, 0) == 0);
  }
}

TEST_CASE("append_utf8 encodes each length and round-trips with the validator", "[util][utf8]") {
  for (uint32_t cp : {0x41u, 0x7fu, 0x80u, 0xe9u, 0x7ffu, 0x800u, 0x20acu, 0xd7ffu, 0xe000u, 0xfffdu, 0xffffu,
                      0x10000u, 0x1f600u, 0x10ffffu}) {
    std::string s;
    append_utf8(s, cp);
    INFO("cp " << cp);
    CHECK(s.size() == (cp < 0x80 ? 1u : cp < 0x800 ? 2u : cp < 0x10000 ? 3u : 4u));
    CHECK(utf8_sequence_length(s, 0) == s.size());
  }
  std::string s;
  append_utf8(s, 0xe9);
  CHECK(s == "\xc3\xa9");
}
