// observe/trace.h: traceparent parsing by the W3C rules (what an attacker could send), the
// value sent upstream, span formatting (OTLP/JSON) and the bounded queue.
#include <catch2/catch.hpp>

#include <string>

#include "observe/trace.h"

using namespace ferry::proxy;

TEST_CASE("trace: traceparent is parsed strictly", "[trace]") {
  trace::TraceId t{};
  trace::SpanId p{};
  uint8_t flags = 0;
  REQUIRE(trace::parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", t, p, flags));
  CHECK(t[0] == 0x4b);
  CHECK(t[15] == 0x36);
  CHECK(p[7] == 0xb7);
  CHECK(flags == 1);
  // A later version may append fields after '-'.
  CHECK(trace::parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-extra", t, p, flags));
  CHECK(flags == 0);
  for (const char* bad : {
           "", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  // version 00: exact length
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",            // version ff is invalid
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",            // upper-case
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",            // zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",            // zero parent
           "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",            // misplaced dash
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",            // not hex
           "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",           // later version: '-' next
       })
    CHECK_FALSE(trace::parse_traceparent(bad, t, p, flags));
}

TEST_CASE("trace: the value sent upstream and the span's OTLP/JSON", "[trace]") {
  trace::TraceState t;
  t.on = true;
  for (int i = 0; i < 16; ++i) t.trace[i] = static_cast<uint8_t>(i + 1);
  for (int i = 0; i < 8; ++i) t.span[i] = static_cast<uint8_t>(0xa0 + i), t.parent[i] = static_cast<uint8_t>(0x10 + i);
  t.sampled = true;
  std::string tp;
  trace::format_traceparent(t, tp);
  CHECK(tp == "00-0102030405060708090a0b0c0d0e0f10-a0a1a2a3a4a5a6a7-01");
  t.has_parent = true;
  t.start_unix_ns = 1000;
  trace::SpanBuffer buf;
  trace::SpanFacts f;
  f.trace = &t;
  f.method = "GET";
  f.path = "/a?token=secret";
  f.host = "a.test";
  f.app = "shop \"quoted\"";
  f.status = 503;
  f.end_unix_ns = 5000;
  buf.add(f);
  f.status = 200;
  buf.add(f);
  trace::SpanQueue q;
  buf.flush(q);
  CHECK(buf.count() == 0);
  std::string out;
  REQUIRE(q.take(out) == 2);
  CHECK(out.find("\"traceId\":\"0102030405060708090a0b0c0d0e0f10\"") != std::string::npos);
  CHECK(out.find("\"parentSpanId\":\"1011121314151617\"") != std::string::npos);
  CHECK(out.find("\"name\":\"GET shop \\\"quoted\\\"\"") != std::string::npos);
  CHECK(out.find("secret") == std::string::npos);  // the query never leaves
  CHECK(out.find("\"startTimeUnixNano\":\"1000\",\"endTimeUnixNano\":\"5000\"") != std::string::npos);
  CHECK(out.find("{\"key\":\"http.response.status_code\",\"value\":{\"intValue\":\"503\"}}") != std::string::npos);
  // One error status (the 503), none on the 200.
  CHECK(out.find("\"status\":{\"code\":2}") != std::string::npos);
  CHECK(out.find("\"status\"") == out.rfind("\"status\""));
  CHECK(q.take(out) == 0);
  CHECK(out.empty());
  // A long path is cut at 1 KiB.
  const std::string long_path = "/" + std::string(5000, 'a');
  f.path = long_path;
  buf.add(f);
  buf.flush(q);
  REQUIRE(q.take(out) == 1);
  CHECK(out.find(std::string(1023, 'a')) != std::string::npos);
  CHECK(out.find(std::string(1024, 'a')) == std::string::npos);
}

TEST_CASE("trace: the queue drops whole batches past its capacity and counts them", "[trace]") {
  trace::SpanQueue q;
  q.set_capacity(3);
  q.push("{}", 1);
  q.push("{},{}", 2);
  q.push("{}", 1);  // over: dropped
  CHECK(q.dropped() == 1);
  std::string out;
  CHECK(q.take(out) == 3);
  CHECK(out == "{},{},{}");
  q.push("{},{}", 2);
  CHECK(q.take(out) == 2);
}
