// A FIFO of bytes in one string: appended at the back, taken from the front. The taken prefix
// is dropped once it is at least half of the string, so memory stays about twice what is
// queued however the two sides interleave (a reader slower than the writer never makes the
// string grow with everything ever written). Single-threaded value type.
#pragma once

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

namespace ferry::proxy {

class ByteQueue {
 public:
  size_t size() const { return buf_.size() - off_; }
  bool empty() const { return off_ == buf_.size(); }
  std::string_view view() const { return std::string_view(buf_).substr(off_); }

  void append(std::string_view data) { writable().append(data); }
  // The string to append to directly (e.g. with a formatter); the queued bytes are its tail.
  std::string& writable() {
    if (off_ && off_ * 2 >= buf_.size()) {
      buf_.erase(0, off_);
      off_ = 0;
    }
    return buf_;
  }
  // Copies up to `n` bytes from the front into `out` and drops them; returns how many.
  size_t take(void* out, size_t n) {
    n = std::min(n, size());
    std::memcpy(out, buf_.data() + off_, n);
    off_ += n;
    if (off_ == buf_.size()) clear();
    return n;
  }
  void clear() {
    buf_.clear();
    off_ = 0;
  }
  // clear(), and the buffer is freed if it grew past `keep` bytes.
  void clear(size_t keep) {
    if (buf_.capacity() > keep) std::string().swap(buf_);
    clear();
  }

 private:
  std::string buf_;
  size_t off_ = 0;
};

}  // namespace ferry::proxy
