// The admin API's JSON writer: commas, nesting, escaping, invalid UTF-8, numbers.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "api/json_writer.h"

using ferry::daemon::api::json_string;
using ferry::daemon::api::JsonWriter;

TEST_CASE("JsonWriter places commas between members and elements", "[api][json]") {
  JsonWriter w;
  w.begin_object().field("a", 1).key("b").begin_array().value(1).value("x").value(true).null().end_array();
  w.key("c").begin_object().end_object().field("d", -5).end_object();
  CHECK(w.str() == R"({"a":1,"b":[1,"x",true,null],"c":{},"d":-5})");
}

TEST_CASE("JsonWriter arrays of objects and empty containers", "[api][json]") {
  JsonWriter w;
  w.begin_array();
  w.begin_object().field("n", "a").end_object();
  w.begin_object().field("n", "b").end_object();
  w.begin_array().end_array();
  w.end_array();
  CHECK(w.str() == R"([{"n":"a"},{"n":"b"},[]])");
}

TEST_CASE("JsonWriter numbers", "[api][json]") {
  JsonWriter w;
  w.begin_array();
  w.value(uint64_t{18446744073709551615u}).value(int64_t{-9223372036854775807 - 1}).value(41.5).value(0.0);
  w.value(std::nan("")).value(std::numeric_limits<double>::infinity()).value(1.25);
  w.end_array();
  CHECK(w.str() == "[18446744073709551615,-9223372036854775808,41.5,0,0,0,1.25]");
}

TEST_CASE("json_string escapes quotes, backslashes and control characters", "[api][json]") {
  CHECK(json_string("a\"b\\c") == R"("a\"b\\c")");
  CHECK(json_string("l1\nl2\tx\r") == R"("l1\nl2\tx\r")");
  CHECK(json_string(std::string("\x01\x1f", 2)) == R"("\u0001\u001f")");
  CHECK(json_string("") == R"("")");
}

TEST_CASE("json_string keeps valid UTF-8 and replaces invalid bytes", "[api][json]") {
  CHECK(json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") == "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  CHECK(json_string("a\xff" "b") == R"("a\ufffdb")");
  CHECK(json_string("\xc0\xaf") == R"("\ufffd\ufffd")");           // overlong
  CHECK(json_string("\xed\xa0\x80") == R"("\ufffd\ufffd\ufffd")");  // surrogate
  CHECK(json_string("\xe2\x82") == R"("\ufffd\ufffd")");            // truncated
}
