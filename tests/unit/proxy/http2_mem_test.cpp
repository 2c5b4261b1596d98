// http2/mem: nghttp2's allocator over a per-thread size-class cache.
#include <catch2/catch.hpp>

#include <cstring>
#include <thread>
#include <vector>

#include "http2/mem.h"

using namespace ferry::proxy::http2;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kCached = false;  // everything goes to malloc under ASan
#else
constexpr bool kCached = true;
#endif

}  // namespace

TEST_CASE("nghttp2 mem: a freed block is reused for the next request of its class") {
  std::thread([] {  // a fresh thread: a cache of its own
    nghttp2_mem* m = cached_mem();
    void* a = m->malloc(100, m->mem_user_data);
    REQUIRE(a != nullptr);
    REQUIRE(reinterpret_cast<uintptr_t>(a) % 16 == 0);
    std::memset(a, 0xAB, 100);
    m->free(a, m->mem_user_data);
    void* b = m->malloc(120, m->mem_user_data);  // the same 128-byte class
    if (kCached) REQUIRE(b == a);
    // calloc zeroes what an earlier user wrote.
    m->free(b, m->mem_user_data);
    auto* z = static_cast<unsigned char*>(m->calloc(10, 12, m->mem_user_data));
    REQUIRE(z != nullptr);
    for (int i = 0; i < 120; ++i) REQUIRE(z[i] == 0);
    m->free(z, m->mem_user_data);
    m->free(nullptr, m->mem_user_data);  // as free(NULL)
  }).join();
}

TEST_CASE("nghttp2 mem: realloc keeps the contents, in place within the class, across classes and big") {
  std::thread([] {
    nghttp2_mem* m = cached_mem();
    auto* p = static_cast<char*>(m->realloc(nullptr, 40, m->mem_user_data));  // as malloc
    REQUIRE(p != nullptr);
    std::memcpy(p, "0123456789012345678901234567890123456789", 40);
    char* q = static_cast<char*>(m->realloc(p, 60, m->mem_user_data));
    if (kCached) REQUIRE(q == p);  // 40 and 60 share the 64-byte class
    q = static_cast<char*>(m->realloc(q, 500, m->mem_user_data));
    REQUIRE(std::memcmp(q, "0123456789012345678901234567890123456789", 40) == 0);
    q = static_cast<char*>(m->realloc(q, 100000, m->mem_user_data));  // above the classes
    REQUIRE(std::memcmp(q, "0123456789012345678901234567890123456789", 40) == 0);
    q[99999] = 'x';
    q = static_cast<char*>(m->realloc(q, 200, m->mem_user_data));  // and back into one
    REQUIRE(std::memcmp(q, "0123456789012345678901234567890123456789", 40) == 0);
    m->free(q, m->mem_user_data);
    REQUIRE(m->calloc(SIZE_MAX / 2, 4, m->mem_user_data) == nullptr);  // overflow
  }).join();
}

TEST_CASE("nghttp2 mem: the cache keeps what the last two periods needed, then nothing") {
  std::thread([] {
    nghttp2_mem* m = cached_mem();
    std::vector<void*> v;
    for (int i = 0; i < 10; ++i) v.push_back(m->malloc(300, m->mem_user_data));
    for (void* p : v) m->free(p, m->mem_user_data);
    REQUIRE(cached_mem_blocks() == (kCached ? 10u : 0u));
    trim_cached_mem();  // this period had 10 in use: kept
    REQUIRE(cached_mem_blocks() == (kCached ? 10u : 0u));
    // The next period needs 3 at most.
    for (int i = 0; i < 3; ++i) v[i] = m->malloc(300, m->mem_user_data);
    for (int i = 0; i < 3; ++i) m->free(v[i], m->mem_user_data);
    trim_cached_mem();  // the period before still had 10
    REQUIRE(cached_mem_blocks() == (kCached ? 10u : 0u));
    trim_cached_mem();  // two periods of at most 3
    REQUIRE(cached_mem_blocks() == (kCached ? 3u : 0u));
    trim_cached_mem();
    trim_cached_mem();  // idle
    REQUIRE(cached_mem_blocks() == 0u);
  }).join();
}

TEST_CASE("nghttp2 mem: a block freed on another thread does not grow that thread's cache") {
  nghttp2_mem* m = cached_mem();
  void* p = nullptr;
  std::thread([&] { p = m->malloc(64, m->mem_user_data); }).join();
  std::thread([&] {
    m->free(p, m->mem_user_data);  // this thread never allocated: nothing to keep it for
    REQUIRE(cached_mem_blocks() == 0u);
  }).join();
}
