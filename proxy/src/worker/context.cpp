#include "worker/context.h"

#include <malloc.h>

#include <random>

#include "http2/mem.h"
#include "worker/request_scratch.h"

namespace ferry::proxy {

WorkerContext::WorkerContext(int id, EngineShared& shared) : id_(id), shared_(shared), access_log_(shared.access_log) {
  std::random_device rd;
  rng_state_ = (uint64_t(rd()) << 32) ^ rd() ^ (uint64_t(id) << 56);
}

WorkerContext::~WorkerContext() = default;

uint64_t WorkerContext::random() {
  // splitmix64: fast, good enough for ids and jitter (not for secrets).
  uint64_t z = (rng_state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void WorkerContext::set_catalog_feed(std::shared_ptr<const CatalogFeed> feed) {
  catalog_feed_ = std::move(feed);
  feed_waiters_.wake();
}

std::unique_ptr<RequestScratch> WorkerContext::take_scratch() {
  return scratch_.take([] { return std::make_unique<RequestScratch>(); });
}

void WorkerContext::give_scratch(std::unique_ptr<RequestScratch> s) { scratch_.give(std::move(s)); }

void WorkerContext::trim_free_lists() {
  freed_ += scratch_.trim() * sizeof(RequestScratch);
  freed_ += blocks_.trim();
  freed_ += http2::trim_cached_mem();  // this thread's cache of nghttp2's blocks
  // What a burst left behind lies between the connections that outlived it (a buffer block
  // per connection that was reading a request, interleaved with long-lived sessions), so
  // free() cannot shrink the heap: its pages stay resident. Once a MiB has been freed, give
  // the whole free pages back (madvise). It costs one walk of malloc's free chunks, rare by
  // construction; glibc takes each arena's lock in turn, as any malloc does.
  if (freed_ >= kGiveBackAfter) {
    ::malloc_trim(0);
    freed_ = 0;
  }
}

}  // namespace ferry::proxy
