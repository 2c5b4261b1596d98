#include <catch2/catch.hpp>

#include <string>

#include "acme/json.h"
#include "ferry/util/json.h"

using ferry::acme::JsonValue;
using ferry::acme::parse_json;
using ferry::util::json_string;

TEST_CASE("acme json: parses objects, arrays and scalars", "[acme][json]") {
  auto doc = parse_json(R"( {"a":[1,-2.5e3,0.0,true,false,null],"b":{"c":"d"},"e":""} )");
  REQUIRE(doc);
  REQUIRE(doc->is_object());
  const JsonValue* a = doc->get("a");
  REQUIRE(a);
  REQUIRE(a->as_array());
  REQUIRE(a->as_array()->size() == 6);
  CHECK((*a->as_array())[0].as_double() == 1.0);
  CHECK((*a->as_array())[1].as_double() == -2500.0);
  CHECK((*a->as_array())[1].as_number()->text == "-2.5e3");
  CHECK(*(*a->as_array())[3].as_bool() == true);
  CHECK(*(*a->as_array())[4].as_bool() == false);
  CHECK((*a->as_array())[5].is_null());
  REQUIRE(doc->get("b"));
  CHECK(*doc->get("b")->get_string("c") == "d");
  CHECK(*doc->get_string("e") == "");
  CHECK(doc->get("missing") == nullptr);
  CHECK(doc->get_string("a") == nullptr);  // wrong kind
}

TEST_CASE("acme json: string escapes, \\u and surrogate pairs", "[acme][json]") {
  auto doc = parse_json(R"(["\"\\\/\b\f\n\r\t", "\u0041\u00e9\u20ac", "\ud83d\ude00", "caf\u00E9", "é€😀"])");
  REQUIRE(doc);
  const auto& arr = *doc->as_array();
  CHECK(*arr[0].as_string() == "\"\\/\b\f\n\r\t");
  CHECK(*arr[1].as_string() == "A\xc3\xa9\xe2\x82\xac");
  CHECK(*arr[2].as_string() == "\xf0\x9f\x98\x80");
  CHECK(*arr[3].as_string() == "caf\xc3\xa9");
  CHECK(*arr[4].as_string() == "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  auto nul = parse_json(R"("a\u0000b")");
  REQUIRE(nul);
  CHECK(*nul->as_string() == std::string("a\0b", 3));
}

TEST_CASE("acme json: rejects malformed documents", "[acme][json]") {
  for (const char* bad : {
           "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "[1 2]", "01", "-", "1.", ".5", "1e",
           "+1", "NaN", "Infinity", "tru", "nul", "\"abc", "'a'", "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"",
           "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"a\tb\"", "{\"a\":1}{", "[1] x",
           "{\"a\":1,\"a\":2}", "/* c */ 1", "\"\xc3\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xff\"",
       }) {
    INFO("input: " << bad);
    CHECK_FALSE(parse_json(bad));
  }
  auto r = parse_json("[1,]");
  CHECK(r.error.find("offset") != std::string::npos);
}

TEST_CASE("acme json: depth and size limits", "[acme][json]") {
  std::string ok_depth = std::string(64, '[') + std::string(64, ']');
  CHECK(parse_json(ok_depth));
  std::string too_deep = std::string(65, '[') + std::string(65, ']');
  CHECK_FALSE(parse_json(too_deep));
  std::string deep_obj;
  for (int i = 0; i < 65; ++i) deep_obj += "{\"a\":";
  deep_obj += "1" + std::string(65, '}');
  CHECK_FALSE(parse_json(deep_obj));
  CHECK_FALSE(parse_json(std::string(100000, '[')));  // no stack overflow, just an error

  const std::string big = "\"" + std::string(2000, 'x') + "\"";
  CHECK(parse_json(big, 4096));
  CHECK_FALSE(parse_json(big, 1000));
}

TEST_CASE("acme json: the request writer's strings (util::json_string) are exact and round-trip", "[acme][json]") {
  CHECK(json_string("") == R"("")");
  CHECK(json_string("mailto:a@b.example") == R"("mailto:a@b.example")");
  CHECK(json_string("a\"b\\c/d") == R"("a\"b\\c/d")");
  CHECK(json_string("\n\r\t\b\f") == R"("\n\r\t\b\f")");
  CHECK(json_string(std::string("\x01\x1f\0", 3)) == R"("\u0001\u001f\u0000")");
  CHECK(json_string("\xc3\xa9") == "\"\xc3\xa9\"");  // UTF-8 passes through unchanged
  const std::string nasty = std::string("x\"\\\n\x02\0y\xe2\x82\xac", 10);
  auto back = parse_json(json_string(nasty));
  REQUIRE(back);
  CHECK(*back->as_string() == nasty);
}
