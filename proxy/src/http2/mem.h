// nghttp2's allocations (streams, queued frames, copies of submitted fields, HPACK buffers)
// from a per-thread cache of size classes instead of malloc each time: an HTTP/2 request
// makes about four of them on each side of the proxy, and malloc's own per-thread cache is
// too small for the bursts one read of 32 streams causes.
//
// The cache follows demand (net/demand.h): each size class keeps at most as many free
// blocks as were in use at the peak of the last two trim periods, and trim_cached_mem() (the
// worker's tick) frees the rest. Blocks above 1 KiB go to malloc directly. A block may be
// freed on another thread than the one that allocated it (a session destroyed after its
// worker's loop ended): it joins that thread's cache. Built with AddressSanitizer, everything
// goes to malloc, so nghttp2's use of its memory stays checked.
//
// Thread: each thread has its own cache; no locks.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstddef>

namespace ferry::proxy::http2 {

// For nghttp2_session_{server,client}_new3 (nghttp2 copies the struct).
nghttp2_mem* cached_mem();
// Frees the calling thread's cached blocks that the last two periods did not need; returns the
// bytes freed.
size_t trim_cached_mem();
// Free blocks the calling thread's cache holds now (tests).
size_t cached_mem_blocks();

}  // namespace ferry::proxy::http2
