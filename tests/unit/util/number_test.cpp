// util/number: whole-string integers.
#include <catch2/catch.hpp>

#include <cstdint>

#include "ferry/util/number.h"

using ferry::util::parse_whole;

TEST_CASE("parse_whole takes the whole string or nothing", "[util][number]") {
  uint64_t u = 7;
  CHECK(parse_whole("18446744073709551615", u));
  CHECK(u == UINT64_MAX);
  CHECK_FALSE(parse_whole("18446744073709551616", u));  // out of range
  CHECK_FALSE(parse_whole("", u));
  CHECK_FALSE(parse_whole("12x", u));
  CHECK_FALSE(parse_whole(" 12", u));
  CHECK_FALSE(parse_whole("+12", u));
  CHECK_FALSE(parse_whole("-1", u));
  int64_t s = 0;
  CHECK(parse_whole("-42", s));
  CHECK(s == -42);
  int i = 0;
  CHECK_FALSE(parse_whole("2147483648", i));
}
