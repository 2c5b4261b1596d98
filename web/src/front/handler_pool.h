// The threads that run admin request handlers (POCO code that may block: scrypt, SQLite,
// waiting for a reload). The front's event loop never runs a handler itself; it queues a
// complete request here and is told of the result by the job (which posts back to the loop).
//
// Threads are started on demand up to `max_threads` and live until stop(). At most
// `max_queued` jobs wait for a thread; submit() refuses beyond that (the front answers 503).
//
// Ownership: one per AdminFront. Thread: submit() from the loop; stop() from the control
// thread. Jobs run on the pool threads and must not throw.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ferry::web::front {

class HandlerPool {
 public:
  // `cancelled` is true when stop() came before the job started: the job must only report
  // back (so whoever waits for it is released), not run the handler.
  using Job = std::function<void(bool cancelled)>;

  HandlerPool(size_t max_threads, size_t max_queued) : max_threads_(max_threads), max_queued_(max_queued) {}
  ~HandlerPool() { stop(); }
  HandlerPool(const HandlerPool&) = delete;
  HandlerPool& operator=(const HandlerPool&) = delete;

  // Queues a job; false (job dropped, never called) when the queue is full or stopping.
  bool submit(Job job);

  // Every queued job is called with cancelled = true, running ones finish; joins the threads.
  // Idempotent.
  void stop();

  size_t threads() const;

 private:
  void run();

  const size_t max_threads_, max_queued_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  std::vector<std::thread> threads_;
  size_t idle_ = 0;
  bool stopping_ = false;
};

}  // namespace ferry::web::front
