#include "front/handler_pool.h"

namespace ferry::web::front {

bool HandlerPool::submit(Job job) {
  std::lock_guard lock(mu_);
  if (stopping_ || queue_.size() >= max_queued_) return false;
  queue_.push_back(std::move(job));
  if (idle_ < queue_.size() && threads_.size() < max_threads_) {
    try {
      threads_.emplace_back([this] { run(); });
    } catch (const std::system_error&) {
      // no new thread: the queued job waits for a running one (there is at least one unless
      // none could ever be started; then the job is cancelled by stop())
    }
  }
  cv_.notify_one();
  return true;
}

void HandlerPool::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    ++idle_;
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    --idle_;
    if (queue_.empty()) return;  // stopping, nothing left
    Job job = std::move(queue_.front());
    queue_.pop_front();
    bool cancelled = stopping_;
    lock.unlock();
    job(cancelled);
    job = nullptr;  // released outside the lock
    lock.lock();
  }
}

void HandlerPool::stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    threads.swap(threads_);
  }
  cv_.notify_all();
  for (std::thread& t : threads) t.join();
  // Jobs queued while no thread could run them.
  std::deque<Job> left;
  {
    std::lock_guard lock(mu_);
    left.swap(queue_);
  }
  for (Job& job : left) job(true);
}

size_t HandlerPool::threads() const {
  std::lock_guard lock(mu_);
  return threads_.size();
}

}  // namespace ferry::web::front
