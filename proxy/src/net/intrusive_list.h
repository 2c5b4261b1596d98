// A doubly linked list threaded through its elements (T has `T* prev` and `T* next`): adding
// and removing allocate nothing, so it suits one entry per connection. It does not own the
// elements; each must be removed before it dies. One thread only.
#pragma once

namespace ferry::proxy {

template <class T>
class IntrusiveList {
 public:
  void push_front(T* e) {
    e->prev = nullptr;
    e->next = head_;
    if (head_) head_->prev = e;
    head_ = e;
  }
  // Does nothing for an element that is not in the list.
  void remove(T* e) {
    if (!e->prev && head_ != e) return;
    if (e == cursor_) cursor_ = e->next;
    (e->prev ? e->prev->next : head_) = e->next;
    if (e->next) e->next->prev = e->prev;
    e->prev = e->next = nullptr;
  }
  // Calls f(e) for each element in the list now. f may remove any element (e itself too) right
  // away; elements added meanwhile are not visited. Not reentrant.
  template <class F>
  void for_each(F f) {
    for (T* e = head_; e; e = cursor_) {
      cursor_ = e->next;
      f(e);
    }
    cursor_ = nullptr;
  }
  bool empty() const { return head_ == nullptr; }

 private:
  T* head_ = nullptr;    // the newest
  T* cursor_ = nullptr;  // for_each's next element, moved on by remove()
};

}  // namespace ferry::proxy
