// The embedded catalog's feed answers (proxy/src/mesh/catalog_feed.h): full, delta, same.
#include <catch2/catch.hpp>

#include "mesh/catalog_feed.h"

using namespace ferry::proxy;

namespace {

CatalogFeed feed() {
  CatalogFeed f;
  f.epoch = 7;
  f.version = 12;
  f.snapshot = "i a 1\ni a 2\n";
  f.changes = {{10, "c10\n"}, {11, "c11\n"}, {12, "c12\n"}};
  return f;
}

}  // namespace

TEST_CASE("a reader at the feed's version waits; one behind gets the changes after it") {
  const CatalogFeed f = feed();
  bool same = false;
  CHECK(feed_answer(&f, 7, 12, same) == "ferry-catalog 1 7 12 same\n");
  CHECK(same);
  CHECK(feed_answer(&f, 7, 10, same) == "ferry-catalog 1 7 12 delta 10\nc11\nc12\n");
  CHECK_FALSE(same);
  CHECK(feed_answer(&f, 7, 9, same) == "ferry-catalog 1 7 12 delta 9\nc10\nc11\nc12\n");
}

TEST_CASE("another epoch, a gap, or a version from the future get the full snapshot") {
  const CatalogFeed f = feed();
  bool same = true;
  const std::string full = "ferry-catalog 1 7 12 full\ni a 1\ni a 2\n";
  CHECK(feed_answer(&f, 6, 11, same) == full);  // another epoch
  CHECK(feed_answer(&f, 7, 8, same) == full);   // change 9 is no longer kept
  CHECK(feed_answer(&f, 7, 13, same) == full);  // ahead of the feed: start over
  CHECK(feed_answer(&f, 0, 0, same) == full);
  CHECK_FALSE(same);
  CHECK(feed_answer(nullptr, 0, 0, same) == "ferry-catalog 1 0 0 same\n");
  CHECK(same);
  CHECK(feed_answer(nullptr, 7, 3, same) == "ferry-catalog 1 0 0 full\n");
}

TEST_CASE("feed heads parse strictly") {
  FeedHead h;
  std::string_view rest;
  REQUIRE(parse_feed_head("ferry-catalog 1 7 12 delta 10\nc11\n", h, rest));
  CHECK(h.kind == FeedHead::Kind::delta);
  CHECK(h.epoch == 7);
  CHECK(h.version == 12);
  CHECK(h.from == 10);
  CHECK(rest == "c11\n");
  REQUIRE(parse_feed_head("ferry-catalog 1 7 12 full\n", h, rest));
  CHECK(h.kind == FeedHead::Kind::full);
  CHECK(rest.empty());
  for (const char* bad : {"ferry-catalog 1 7 12 full", "ferry-catalog 2 7 12 full\n", "ferry-catalog 1 7 12 delta 12\n",
                          "ferry-catalog 1 7 12 delta\n", "ferry-catalog 1 x 12 full\n", "ferry-catalog 1 7 12 full 3\n",
                          "ferry-catalog 1 7 12 same x\n", "ferry-catalog 1 7 12 part\n"}) {
    INFO(bad);
    CHECK_FALSE(parse_feed_head(bad, h, rest));
  }
}
