#include "http2/mem.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "net/demand.h"

namespace ferry::proxy::http2 {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kCache = false;
#else
constexpr bool kCache = true;
#endif

// Before each block: its size class (or kBig) and, for a big one, its size. 16 bytes, so the
// pointer nghttp2 gets keeps malloc's alignment.
struct Head {
  uint32_t cls;
  uint32_t unused;
  uint64_t size;
};
static_assert(sizeof(Head) == 16);
constexpr uint32_t kBig = 0xFFFFFFFFu;
constexpr size_t kStep = 64;     // class k holds (k + 1) * kStep bytes
constexpr size_t kClasses = 16;  // up to 1 KiB

struct Cache {
  struct Class {
    std::vector<Head*> free;
    Demand demand;
  };
  std::array<Class, kClasses> classes;
  ~Cache() {
    for (auto& c : classes)
      for (Head* h : c.free) std::free(h);
  }
};
thread_local Cache cache;

size_t capacity(const Head* h) { return h->cls == kBig ? h->size : (h->cls + 1) * kStep; }

void* allocate(size_t size, void*) {
  if (size == 0) size = 1;
  const size_t k = (size + kStep - 1) / kStep - 1;
  if (!kCache || k >= kClasses) {
    auto* h = static_cast<Head*>(std::malloc(sizeof(Head) + size));
    if (!h) return nullptr;
    h->cls = kBig;
    h->size = size;
    return h + 1;
  }
  auto& c = cache.classes[k];
  Head* h;
  if (!c.free.empty()) {
    h = c.free.back();
    c.free.pop_back();
  } else {
    h = static_cast<Head*>(std::malloc(sizeof(Head) + (k + 1) * kStep));
    if (!h) return nullptr;
    h->cls = static_cast<uint32_t>(k);
  }
  c.demand.took();
  return h + 1;
}

void release(void* p, void*) {
  if (!p) return;
  Head* h = static_cast<Head*>(p) - 1;
  if (h->cls == kBig) return std::free(h);
  auto& c = cache.classes[h->cls];
  c.demand.gave();
  if (c.free.size() >= c.demand.keep()) return std::free(h);
  c.free.push_back(h);
}

void* allocate_zeroed(size_t n, size_t size, void* ud) {
  if (size != 0 && n > SIZE_MAX / size) return nullptr;
  void* p = allocate(n * size, ud);
  if (p) std::memset(p, 0, n * size);
  return p;
}

void* reallocate(void* p, size_t size, void* ud) {
  if (!p) return allocate(size, ud);
  Head* h = static_cast<Head*>(p) - 1;
  if (size != 0 && size <= capacity(h) && h->cls != kBig) return p;  // still fits its class
  void* q = allocate(size, ud);
  if (!q) return nullptr;  // realloc leaves the old block as it was
  std::memcpy(q, p, std::min(size, capacity(h)));
  release(p, ud);
  return q;
}

nghttp2_mem mem{nullptr, allocate, release, allocate_zeroed, reallocate};

}  // namespace

nghttp2_mem* cached_mem() { return &mem; }

size_t trim_cached_mem() {
  size_t freed = 0;
  for (auto& c : cache.classes) {
    while (c.free.size() > c.demand.keep()) {
      freed += sizeof(Head) + capacity(c.free.back());
      std::free(c.free.back());
      c.free.pop_back();
    }
    if (c.free.empty()) std::vector<Head*>().swap(c.free);
    c.demand.roll();
  }
  return freed;
}

size_t cached_mem_blocks() {
  size_t n = 0;
  for (const auto& c : cache.classes) n += c.free.size();
  return n;
}

}  // namespace ferry::proxy::http2
