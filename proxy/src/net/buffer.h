// A flat byte buffer with a read window [begin, end) and free space after it: sockets read
// into space(), parsers look at data(). Owned by one connection; worker thread only.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace ferry::proxy {

class Buffer {
 public:
  explicit Buffer(size_t capacity = 16 * 1024) : cap_(capacity) {}
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
    mem_ = std::move(m);
    cap_ = capacity;
  }
  // Frees the memory of an empty buffer (idle keep-alive connections hold no buffer).
  void release_if_empty() {
    if (begin_ == end_) {
      mem_.reset();
      begin_ = end_ = 0;
    }
  }

 private:
  void ensure() {
    if (!mem_) mem_ = std::make_unique_for_overwrite<char[]>(cap_);
  }
  std::unique_ptr<char[]> mem_;
  size_t cap_;
  size_t begin_ = 0, end_ = 0;
};

}  // namespace ferry::proxy
