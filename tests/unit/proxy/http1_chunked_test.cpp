// Chunked transfer-coding decoder: valid bodies at every split, malformed bodies, limits.
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "http1/chunked.h"

using namespace std::literals;
using namespace ferry::proxy;
using namespace ferry::proxy::http1;

namespace {

struct Outcome {
  std::string payload;
  bool done = false;
  bool error = false;
  size_t consumed = 0;  // total input bytes consumed
};

// Feeds `body` split at the given cut points; data after `done` is left unconsumed.
Outcome decode(std::string_view body, const std::vector<size_t>& cuts) {
  ChunkedDecoder d;
  Outcome o;
  size_t prev = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(body.size());
  for (size_t end : ends) {
    std::string_view piece = body.substr(prev, end - prev);
    prev = end;
    // Copy the piece so that spans pointing outside it would be caught by ASan.
    const std::string copy(piece);
    std::string_view in = copy;
    for (;;) {
      const auto st = d.step(in);
      REQUIRE(st.consumed <= in.size());
      if (!st.data.empty()) {
        REQUIRE(st.data.data() >= in.data());
        REQUIRE(st.data.data() + st.data.size() <= in.data() + in.size());
        o.payload.append(st.data);
      }
      in.remove_prefix(st.consumed);
      o.consumed += st.consumed;
      if (st.error) {
        o.error = true;
        return o;
      }
      if (st.done) {
        o.done = true;
        CHECK(d.done());
        return o;
      }
      if (st.consumed == 0) break;
    }
  }
  return o;
}

Outcome decode_whole(std::string_view body) { return decode(body, {}); }

}  // namespace

TEST_CASE("chunked: simple body", "[http1][chunked]") {
  const std::string body = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  const auto o = decode_whole(body + "GET /next");
  CHECK(o.done);
  CHECK_FALSE(o.error);
  CHECK(o.payload == "hello world");
  CHECK(o.consumed == body.size());
}

TEST_CASE("chunked: every split point and byte by byte", "[http1][chunked]") {
  const std::string body =
      "a;name=val;q=\"x y\"\r\n0123456789\r\n1F\r\n0123456789abcdefghijklmnopqrstu\r\n"
      "00000001 ; ext\r\nZ\r\n0\r\nTrailer-A: 1\r\nTrailer-B:  two \r\n\r\n";
  const std::string expect = "0123456789" "0123456789abcdefghijklmnopqrstu" "Z";
  for (size_t cut = 0; cut <= body.size(); ++cut) {
    INFO("cut at " << cut);
    const auto o = decode(body, {cut});
    CHECK(o.done);
    CHECK(o.payload == expect);
    CHECK(o.consumed == body.size());
  }
  for (size_t a = 0; a <= body.size(); a += 3)
    for (size_t b = a; b <= body.size(); b += 5) {
      const auto o = decode(body, {a, b});
      CHECK(o.done);
      CHECK(o.payload == expect);
    }
  std::vector<size_t> every;
  for (size_t i = 1; i < body.size(); ++i) every.push_back(i);
  const auto o = decode(body, every);
  CHECK(o.done);
  CHECK(o.payload == expect);
}

TEST_CASE("chunked: random splits of a large body", "[http1][chunked]") {
  std::mt19937 rng(1234);
  std::string body, expect;
  for (int i = 0; i < 200; ++i) {
    const size_t n = rng() % 3000 + 1;
    std::string data(n, static_cast<char>('a' + i % 26));
    char hex[32];
    std::snprintf(hex, sizeof(hex), i % 2 ? "%zx" : "%zX", n);
    body += hex;
    body += "\r\n" + data + "\r\n";
    expect += data;
  }
  body += "0\r\n\r\n";
  for (int round = 0; round < 20; ++round) {
    std::vector<size_t> cuts;
    size_t pos = 0;
    while (true) {
      pos += rng() % 700 + 1;
      if (pos >= body.size()) break;
      cuts.push_back(pos);
    }
    const auto o = decode(body, cuts);
    REQUIRE(o.done);
    REQUIRE(o.payload == expect);
  }
}

TEST_CASE("chunked: append_chunk_header round trip", "[http1][chunked]") {
  std::string out;
  append_chunk_header(out, 0);
  CHECK(out == "0\r\n");
  out.clear();
  append_chunk_header(out, 255);
  CHECK(out == "ff\r\n");
  out.clear();
  append_chunk_header(out, SIZE_MAX);
  CHECK(out == "ffffffffffffffff\r\n");

  std::string body;
  const std::string parts[] = {"x", std::string(4096, 'y'), std::string(17, 'z')};
  for (const auto& p : parts) {
    append_chunk_header(body, p.size());
    body += p + "\r\n";
  }
  body += kLastChunk;
  const auto o = decode_whole(body);
  CHECK(o.done);
  CHECK(o.payload == parts[0] + parts[1] + parts[2]);
}

TEST_CASE("chunked: incomplete input is not an error", "[http1][chunked]") {
  const std::string body = "5\r\nhello\r\n0\r\n\r\n";
  for (size_t i = 0; i < body.size(); ++i) {
    const auto o = decode_whole(body.substr(0, i));
    CHECK_FALSE(o.done);
    CHECK_FALSE(o.error);
  }
}

TEST_CASE("chunked: malformed bodies", "[http1][chunked][malformed]") {
  const char* bad[] = {
      "\r\nhello\r\n0\r\n\r\n",               // missing size
      "g\r\n",                                // not hex
      "-5\r\n",                               // sign
      "0x5\r\n",                              // prefix
      "5\nhello\r\n0\r\n\r\n",                // bare LF after size
      "5\rhello\r\n",                         // bare CR after size
      "5\r\nhelloX\r\n0\r\n\r\n",             // data longer than size
      "5\r\nhello\n0\r\n\r\n",                // bare LF after data
      "5\r\nhello\r\r\n",                     // CR CR
      "5 \r\nhello\r\n",                      // BWS without extension
      "5;ext\x01\r\nhello\r\n",               // CTL in extension
      "5;ext\nhello\r\n",                     // bare LF in extension
      "10000000000000000\r\n",                // 17 hex digits: overflow
      "00000000000000001\r\nx\r\n",           // 17 digits even with leading zeros
      "0\r\n\n",                              // bare LF ends the body
      "0\r\nX: y\n\r\n",                      // bare LF in trailer
      "0\r\nX y: z\r\n\r\n",                  // invalid trailer name
      "0\r\nX : z\r\n\r\n",                   // whitespace before colon in trailer
      "0\r\n: z\r\n\r\n",                     // empty trailer name
      "0\r\nX: a\r\n folded\r\n\r\n",         // obs-fold in trailers
      "0\r\nX: a\x7f\r\n\r\n",                // DEL in trailer value
      "0\r\nX: a\rb\r\n\r\n",                 // bare CR in trailer value
      "0\r\n\rx",                             // CR not followed by LF at the end
  };
  for (const char* b : bad) {
    INFO(b);
    const std::string s(b);
    CHECK(decode_whole(s).error);
    std::vector<size_t> every;
    for (size_t i = 1; i < s.size(); ++i) every.push_back(i);
    CHECK(decode(s, every).error);
  }
  // NUL inside a trailer value.
  CHECK(decode_whole(std::string("0\r\nX: a\0b\r\n\r\n"sv)).error);
}

TEST_CASE("chunked: 16 hex digits are accepted", "[http1][chunked]") {
  ChunkedDecoder d;
  const auto st = d.step("000000000000000A\r\n0123456789\r\n0\r\n\r\n");
  CHECK_FALSE(st.error);
  CHECK(st.data == "0123456789");
  ChunkedDecoder big;
  const auto st2 = big.step("FFFFFFFFFFFFFFFF\r\nabc");
  CHECK_FALSE(st2.error);
  CHECK(st2.data == "abc");
}

TEST_CASE("chunked: extension and trailer limits", "[http1][chunked][limits]") {
  const std::string ok_ext = "1;" + std::string(4000, 'e') + "\r\nx\r\n0\r\n\r\n";
  CHECK(decode_whole(ok_ext).done);
  const std::string long_ext = "1;" + std::string(5000, 'e') + "\r\nx\r\n0\r\n\r\n";
  CHECK(decode_whole(long_ext).error);
  // The limit is per line: many chunks with moderate extensions are fine.
  std::string many;
  for (int i = 0; i < 10; ++i) many += "1;" + std::string(3000, 'e') + "\r\nx\r\n";
  many += "0\r\n\r\n";
  CHECK(decode_whole(many).done);

  std::string trailers = "0\r\n";
  for (int i = 0; i < 100; ++i) trailers += "X-T" + std::to_string(i) + ": " + std::string(100, 'v') + "\r\n";
  CHECK(decode_whole(trailers + "\r\n").done);
  std::string big = "0\r\n";
  for (int i = 0; i < 200; ++i) big += "X-T" + std::to_string(i) + ": " + std::string(100, 'v') + "\r\n";
  CHECK(decode_whole(big + "\r\n").error);
  CHECK(decode_whole(big).error);  // also before the end of the trailer section
}

TEST_CASE("chunked: errors are sticky and done is final", "[http1][chunked]") {
  ChunkedDecoder d;
  auto st = d.step("zz");
  CHECK(st.error);
  st = d.step("5\r\nhello\r\n");
  CHECK(st.error);
  CHECK(st.consumed == 0);

  ChunkedDecoder e;
  st = e.step("0\r\n\r\nextra");
  CHECK(st.done);
  CHECK(st.consumed == 5);
  st = e.step("extra");
  CHECK(st.done);
  CHECK(st.consumed == 0);
}
