// A flat byte buffer with a read window [begin, end) and free space after it: sockets read
// into space(), parsers look at data(). Owned by one connection; worker thread only.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "net/free_list.h"

namespace ferry::proxy {

// The per-worker free list of standard-size buffer blocks (net/free_list.h), so connections
// can drop their buffer whenever they go idle and get one back without a malloc. Worker
// thread only.
class BlockPool {
 public:
  static constexpr size_t kBlockSize = 16 * 1024;
  std::unique_ptr<char[]> take() {
    return list_.take([] { return std::make_unique_for_overwrite<char[]>(kBlockSize); });
  }
  void give(std::unique_ptr<char[]> b) { list_.give(std::move(b)); }
  // Bytes freed.
  size_t trim() { return list_.trim() * kBlockSize; }
  size_t free_count() const { return list_.free_count(); }

 private:
  FreeList<char[]> list_;
};

class Buffer {
 public:
  // With a pool, the capacity is the pool's block size until reserve() grows it.
  explicit Buffer(size_t capacity = BlockPool::kBlockSize, BlockPool* pool = nullptr)
      : cap_(pool ? BlockPool::kBlockSize : capacity), pool_(pool) {}
  ~Buffer() { drop(); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  std::string_view data() const { return {mem_.get() + begin_, end_ - begin_}; }
  size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  size_t capacity() const { return cap_; }
  // Free bytes after the window; moves the window to the front first when that helps.
  char* space() {
    ensure();
    if (end_ == cap_ && begin_ > 0) compact();
    return mem_.get() + end_;
  }
  size_t space_size() const { return cap_ - end_ + (end_ == cap_ ? begin_ : 0); }
  void commit(size_t n) { end_ += n; }
  void consume(size_t n) {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  void compact() {
    if (begin_ == 0) return;
    std::memmove(mem_.get(), mem_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  // Grows to at least `capacity` (keeps the data). Used when a head needs more room.
  void reserve(size_t capacity) {
    if (capacity <= cap_) return;
    auto m = std::make_unique_for_overwrite<char[]>(capacity);
    if (mem_) std::memcpy(m.get(), mem_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
    drop();
    mem_ = std::move(m);
    cap_ = capacity;
  }
  // Frees the memory of an empty buffer (idle keep-alive connections hold no buffer).
  void release_if_empty() {
    if (begin_ == end_) {
      drop();
      begin_ = end_ = 0;
      if (pool_) cap_ = BlockPool::kBlockSize;  // a grown buffer shrinks back when idle
    }
  }

 private:
  void ensure() {
    if (mem_) return;
    if (pool_ && cap_ == BlockPool::kBlockSize) mem_ = pool_->take();
    else mem_ = std::make_unique_for_overwrite<char[]>(cap_);
  }
  // Frees the memory: standard blocks go back to the pool.
  void drop() {
    if (pool_ && mem_ && cap_ == BlockPool::kBlockSize) pool_->give(std::move(mem_));
    mem_.reset();
  }
  std::unique_ptr<char[]> mem_;
  size_t cap_;
  BlockPool* pool_ = nullptr;  // the owning worker's; outlives the buffer
  size_t begin_ = 0, end_ = 0;
};

}  // namespace ferry::proxy
