// net/intrusive_list: a worker's session list, which drain and revoke walk while the sessions
// they reach end (and unregister) themselves or others.
#include <catch2/catch.hpp>

#include <vector>

#include "net/intrusive_list.h"

using ferry::proxy::IntrusiveList;

namespace {
struct Node {
  int id = 0;
  Node* prev = nullptr;
  Node* next = nullptr;
};

std::vector<int> ids(IntrusiveList<Node>& l) {
  std::vector<int> out;
  l.for_each([&](Node* n) { out.push_back(n->id); });
  return out;
}
}  // namespace

TEST_CASE("intrusive list: add, remove anywhere, and remove twice") {
  Node a{1}, b{2}, c{3};
  IntrusiveList<Node> l;
  REQUIRE(l.empty());
  l.push_front(&a);
  l.push_front(&b);
  l.push_front(&c);
  REQUIRE(ids(l) == std::vector<int>{3, 2, 1});
  l.remove(&b);  // middle
  REQUIRE(ids(l) == std::vector<int>{3, 1});
  l.remove(&b);  // not in the list: nothing happens
  REQUIRE(ids(l) == std::vector<int>{3, 1});
  l.remove(&c);  // head
  l.remove(&a);  // last
  REQUIRE(l.empty());
  Node d{4};
  l.remove(&d);  // never added
  REQUIRE(l.empty());
}

TEST_CASE("intrusive list: a visit may remove itself, the next one or any other") {
  Node n[5];
  IntrusiveList<Node> l;
  for (int i = 0; i < 5; ++i) {
    n[i].id = i;
    l.push_front(&n[i]);  // order: 4 3 2 1 0
  }
  std::vector<int> seen;
  l.for_each([&](Node* e) {
    seen.push_back(e->id);
    if (e->id == 4) l.remove(e);      // itself
    if (e->id == 3) l.remove(&n[2]);  // the next one
    if (e->id == 1) l.remove(&n[3]);  // one already visited
  });
  REQUIRE(seen == std::vector<int>{4, 3, 1, 0});
  REQUIRE(ids(l) == std::vector<int>{1, 0});
}

TEST_CASE("intrusive list: elements added during a visit are not visited") {
  Node a{1}, b{2}, late{9};
  IntrusiveList<Node> l;
  l.push_front(&a);
  l.push_front(&b);
  std::vector<int> seen;
  l.for_each([&](Node* e) {
    seen.push_back(e->id);
    if (e->id == 2) l.push_front(&late);
  });
  REQUIRE(seen == std::vector<int>{2, 1});
  REQUIRE(ids(l) == std::vector<int>{9, 2, 1});
}
