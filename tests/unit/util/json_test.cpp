// The one JSON writer (ferry/util/json.h): commas, nesting, escaping, UTF-8, numbers.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "ferry/util/json.h"

using ferry::util::json_string;
using ferry::util::JsonWriter;

TEST_CASE("JsonWriter places commas between members and elements", "[util][json]") {
  JsonWriter w;
  w.begin_object().field("a", 1).key("b").begin_array().value(1).value("x").value(true).null().end_array();
  w.key("c").begin_object().end_object().field("d", -5).end_object();
  CHECK(w.str() == R"({"a":1,"b":[1,"x",true,null],"c":{},"d":-5})");
}

TEST_CASE("JsonWriter arrays of objects and empty containers", "[util][json]") {
  JsonWriter w;
  w.begin_array();
  w.begin_object().field("n", "a").end_object();
  w.begin_object().field("n", "b").end_object();
  w.begin_array().end_array();
  w.end_array();
  CHECK(w.str() == R"([{"n":"a"},{"n":"b"},[]])");
}

TEST_CASE("JsonWriter numbers", "[util][json]") {
  JsonWriter w;
  w.begin_array();
  w.value(uint64_t{18446744073709551615u}).value(int64_t{-9223372036854775807 - 1}).value(41.5).value(0.0);
  w.value(std::nan("")).value(std::numeric_limits<double>::infinity()).value(1.25);
  w.value_fixed(12.5, 3).value_fixed(0.0004, 3).value_fixed(std::nan(""), 3);
  w.end_array();
  CHECK(w.str() == "[18446744073709551615,-9223372036854775808,41.5,0,0,0,1.25,12.500,0.000,0.000]");
}

TEST_CASE("JsonWriter nests deeper than its inline stack", "[util][json]") {
  // 64 levels are tracked in a bit mask, deeper ones in a vector: commas stay right across both.
  JsonWriter w;
  std::string expect;
  for (int i = 0; i < 70; ++i) {
    w.begin_array().value(i);
    expect += "[" + std::to_string(i) + ",";
  }
  w.value("end");
  expect += "\"end\"";
  for (int i = 0; i < 70; ++i) {
    w.end_array();
    expect += "]";
    if (i < 69) {  // the outermost array closes at the top level, where nothing follows
      w.value(i);
      expect += "," + std::to_string(i);
    }
  }
  CHECK(w.str() == expect);
}

TEST_CASE("JsonWriter appends to a caller's string, one top-level value after another", "[util][json]") {
  std::string out = "head ";
  {
    JsonWriter w(out);
    w.begin_object().field("a", "x").end_object();
    w.begin_object().field("b", 2).end_object();
  }
  CHECK(out == R"(head {"a":"x"}{"b":2})");
}

TEST_CASE("json_string escapes quotes, backslashes and control characters", "[util][json]") {
  CHECK(json_string("a\"b\\c") == R"("a\"b\\c")");
  CHECK(json_string("l1\nl2\tx\r") == R"("l1\nl2\tx\r")");
  CHECK(json_string(std::string("\x01\x1f", 2)) == R"("\u0001\u001f")");
  CHECK(json_string("") == R"("")");
  // (acme_json_test checks the ACME request builders' bytes: '/', \b, \f, NUL.)
  CHECK(json_string("\x7f~ ") == "\"\x7f~ \"");  // DEL and the rest of printable ASCII are copied
}

TEST_CASE("json_string keeps valid UTF-8 and replaces invalid bytes", "[util][json]") {
  CHECK(json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") == "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  CHECK(json_string("/caf\xc3\xa9") == "\"/caf\xc3\xa9\"");
  CHECK(json_string("\xc3\xa9") == "\"\xc3\xa9\"");
  CHECK(json_string("\xf4\x8f\xbf\xbf") == "\"\xf4\x8f\xbf\xbf\"");  // U+10FFFF, the last code point
  CHECK(json_string("\xef\xbf\xbd") == "\"\xef\xbf\xbd\"");          // a literal U+FFFD is kept
  CHECK(json_string("a\xff" "b") == R"("a\ufffdb")");
  CHECK(json_string("\xc0\xaf") == R"("\ufffd\ufffd")");            // overlong '/'
  CHECK(json_string("\xe0\x80\xaf") == R"("\ufffd\ufffd\ufffd")");  // overlong, 3 bytes
  CHECK(json_string("\xf0\x80\x80\xaf") == R"("\ufffd\ufffd\ufffd\ufffd")");  // overlong, 4 bytes
  CHECK(json_string("\xed\xa0\x80") == R"("\ufffd\ufffd\ufffd")");  // surrogate U+D800
  CHECK(json_string("\xed\xbf\xbf") == R"("\ufffd\ufffd\ufffd")");  // surrogate U+DFFF
  CHECK(json_string("\xf4\x90\x80\x80") == R"("\ufffd\ufffd\ufffd\ufffd")");  // U+110000
  CHECK(json_string("\xe2\x82") == R"("\ufffd\ufffd")");            // truncated
  CHECK(json_string("\x80x") == R"("\ufffdx")");                    // stray continuation byte
  CHECK(json_string("\xc3(") == R"("\ufffd(")");                   // lead byte without continuation
  // The access log's old rule escaped each byte as a code point: "/caf\u00c3\u00a9".
  CHECK(json_string("/caf\xc3\xa9") != R"("/caf\u00c3\u00a9")");
}

TEST_CASE("JsonWriter keys and values follow the same string rule", "[util][json]") {
  JsonWriter w;
  w.begin_object().field("p\xc3\xa9", "\xff\n").end_object();
  CHECK(w.str() == "{\"p\xc3\xa9\":\"\\ufffd\\n\"}");
}
