// net/byte_queue: FIFO semantics and bounded memory when the reader lags the writer.
#include <catch2/catch.hpp>

#include <string>

#include "net/byte_queue.h"

using ferry::proxy::ByteQueue;

TEST_CASE("byte queue: bytes come out in order, partial takes included", "[byte_queue]") {
  ByteQueue q;
  CHECK(q.empty());
  q.append("hello ");
  q.writable() += "world";
  CHECK(q.size() == 11);
  char out[8];
  REQUIRE(q.take(out, 5) == 5);
  CHECK(std::string(out, 5) == "hello");
  CHECK(q.view() == " world");
  REQUIRE(q.take(out, 8) == 6);
  CHECK(std::string(out, 6) == " world");
  CHECK(q.empty());
  CHECK(q.take(out, 8) == 0);
}

TEST_CASE("byte queue: a reader slower than the writer keeps memory bounded", "[byte_queue]") {
  ByteQueue q;
  std::string chunk(1000, 'x');
  char out[700];
  size_t written = 0, read = 0;
  for (int i = 0; i < 10000; ++i) {
    if (q.size() < 4000) {
      q.append(chunk);
      written += chunk.size();
    }
    read += q.take(out, sizeof out);
    // The string never holds much more than twice what is queued (plus one append).
    CHECK(q.writable().size() <= 2 * q.size() + 2 * chunk.size());
  }
  CHECK(written - read == q.size());
}
