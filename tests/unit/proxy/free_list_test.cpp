// net/free_list: reuse under any concurrency, and trimming back what recent load did not need.
#include <catch2/catch.hpp>

#include "net/buffer.h"
#include "net/demand.h"
#include "net/free_list.h"

using ferry::proxy::BlockPool;
using ferry::proxy::FreeList;

namespace {
int made = 0;
std::unique_ptr<int> make() {
  ++made;
  return std::make_unique<int>(0);
}
}  // namespace

TEST_CASE("free list: a steady load reuses without allocating, whatever its concurrency") {
  FreeList<int> fl;
  made = 0;
  std::vector<std::unique_ptr<int>> held;
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 300; ++i) held.push_back(fl.take(make));
    for (auto& p : held) fl.give(std::move(p));
    held.clear();
    fl.trim();
  }
  REQUIRE(made == 300);  // 300 concurrent: more than any fixed bound the old pools had
  REQUIRE(fl.free_count() == 300);
}

TEST_CASE("free list: what a burst left behind is freed within two trims of idleness") {
  FreeList<int> fl;
  made = 0;
  std::vector<std::unique_ptr<int>> held;
  for (int i = 0; i < 100; ++i) held.push_back(fl.take(make));
  for (auto& p : held) fl.give(std::move(p));
  held.clear();
  fl.trim();  // this period's peak: kept
  REQUIRE(fl.free_count() == 100);
  held.push_back(fl.take(make));  // one request in the next period
  fl.trim();  // the previous period's peak still counts
  REQUIRE(fl.free_count() == 99);
  fl.trim();  // only the one in use and its peak are left
  REQUIRE(fl.free_count() == 0);
  REQUIRE(fl.in_use() == 1);
  fl.give(std::move(held.back()));
  REQUIRE(fl.free_count() == 1);
  fl.trim();  // the period it was in use in
  fl.trim();  // one idle period: its peak still counts
  REQUIRE(fl.free_count() == 1);
  fl.trim();  // two idle periods
  REQUIRE(fl.free_count() == 0);
  REQUIRE(made == 100);  // the later request reused one
}

TEST_CASE("free list: in use + free never exceeds the peak in use") {
  FreeList<int> fl;
  std::vector<std::unique_ptr<int>> held;
  for (int i = 0; i < 10; ++i) held.push_back(fl.take(make));
  for (int j = 0; j < 50; ++j) {  // churn at 10 concurrent
    fl.give(std::move(held.back()));
    held.back() = fl.take(make);
  }
  REQUIRE(fl.in_use() + fl.free_count() == 10);
  fl.give(nullptr);  // nothing to give: no change
  REQUIRE(fl.in_use() == 10);
}

TEST_CASE("block pool: blocks are recycled and trimmed") {
  BlockPool pool;
  auto a = pool.take(), b = pool.take();
  char* pa = a.get();
  pool.give(std::move(a));
  pool.give(std::move(b));
  auto c = pool.take();
  REQUIRE(c.get() != nullptr);
  REQUIRE((c.get() == pa || pool.free_count() == 1));
  pool.give(std::move(c));
  pool.trim();
  pool.trim();
  pool.trim();
  REQUIRE(pool.free_count() == 0);
}

TEST_CASE("demand: keep is the recent peak minus what is in use, and never underflows") {
  ferry::proxy::Demand d;
  REQUIRE(d.keep() == 0);
  d.gave();  // given back without a take (a block freed on another thread): no underflow
  REQUIRE(d.in_use() == 0);
  for (int i = 0; i < 4; ++i) d.took();
  REQUIRE(d.keep() == 0);  // all four in use: nothing free is worth keeping
  d.gave();
  d.gave();
  REQUIRE(d.keep() == 2);
  d.roll();  // the peak of 4 still counts for the next period...
  REQUIRE(d.keep() == 2);
  d.roll();  // ...and no longer after it: the peak is the 2 in use
  REQUIRE(d.keep() == 0);
}
