// Follower: a control-plane thread that follows a stream of snapshots (a configuration, the
// history settings) and also wakes on a timer. ACME, the mesh manager and the history sampler
// are followers; each supplies what one wake-up does, the follower owns the thread, the
// wake-ups and stop.
//
// How it runs: start() launches the thread, which waits for the first post(). From then on
// every wake-up runs `step(snapshot, fresh)` on the thread with the newest posted snapshot:
// - post(s): a new snapshot; the thread wakes at once and steps with fresh = true. Posts made
//   while a step runs are coalesced: the next step sees only the newest (none is lost: the
//   newest always reaches a step).
// - poke(): wakes the thread at once without a new snapshot (fresh = false), e.g. an admin's
//   "renew now".
// - the timer: step returns the delay until the next wake-up (kNever: none); a post or poke
//   first makes the thread step earlier, and that step's answer sets the next delay.
// - stop: request_stop() asks the thread to end (a step in progress is not interrupted: it
//   should wait with sleep_for(), which returns false at once when stopping); stop() also
//   joins it. After the loop ends, `finish(newest snapshot)` runs on the thread (when one was
//   posted), e.g. a last history sample. A stopped follower may be start()ed again.
// wait_applied(ticket, bound) lets the control thread wait until the step that saw a post
// returned (the mesh's addresses are in place before the engine binds listeners on them).
//
// Ownership: the owning subsystem owns its Follower and declares it after everything its step
// touches (its destructor joins the thread); the subsystem's destructor should stop() it
// first. Threads: start(), stop() and running() on one control thread; post(), poke(),
// latest(), stopping(), request_stop() and wait_applied() from any thread except the
// follower's own (wait_applied() there would wait for itself); sleep_for() on the follower's
// thread. `step` and `finish` must not throw (the subsystem catches and logs its own errors).
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

namespace ferry::daemon {

template <class Snapshot>
class Follower {
 public:
  using Duration = std::chrono::milliseconds;
  static constexpr Duration kNever = Duration::max();
  // One wake-up on the follower's thread. `fresh`: a post() came since the previous step.
  // Returns the delay until the next timed wake-up (kNever: none).
  using Step = std::function<Duration(const Snapshot& snapshot, bool fresh)>;
  using Finish = std::function<void(const Snapshot& snapshot)>;

  Follower() = default;
  ~Follower() { stop(); }
  Follower(const Follower&) = delete;
  Follower& operator=(const Follower&) = delete;

  // Starts the thread (nothing when it runs already). Snapshots posted before are kept: the
  // first step sees the newest of them.
  void start(Step step, Finish finish = {}) {
    if (thread_.joinable()) return;
    step_ = std::move(step);
    finish_ = std::move(finish);
    {
      std::lock_guard lock(mu_);
      stop_ = false;
      poked_ = false;
      running_ = true;
    }
    thread_ = std::thread([this] { run(); });
  }

  // A new snapshot. Returns its ticket for wait_applied(). Works before start() too.
  uint64_t post(Snapshot snapshot) {
    uint64_t ticket;
    {
      std::lock_guard lock(mu_);
      posted_ = std::move(snapshot);
      fresh_ = true;
      ticket = ++posts_;
    }
    cv_.notify_all();
    return ticket;
  }

  // Wakes the thread for one step now, without a new snapshot.
  void poke() {
    {
      std::lock_guard lock(mu_);
      poked_ = true;
    }
    cv_.notify_all();
  }

  // Waits until a step that saw the snapshot of `ticket` (or a newer one) has returned, at
  // most `bound`. False on timeout, or at once when the thread is not running or stopping.
  bool wait_applied(uint64_t ticket, Duration bound) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, bound, [&] { return applied_ >= ticket || stop_ || !running_; });
    return applied_ >= ticket;
  }

  // The newest posted snapshot (none before the first post()).
  std::optional<Snapshot> latest() const {
    std::lock_guard lock(mu_);
    return posted_;
  }

  bool stopping() const {
    std::lock_guard lock(mu_);
    return stop_;
  }

  // The thread is started and not joined yet. Control thread.
  bool running() const { return thread_.joinable(); }

  // For the step: waits `d` or until stop is requested (posts and pokes do not cut it short).
  // False when stopping.
  bool sleep_for(Duration d) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, d, [this] { return stop_; });
    return !stop_;
  }

  // Asks the thread to end after the step in progress, without waiting. Idempotent.
  void request_stop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
  }

  // request_stop(), then joins the thread (finish has run). Idempotent.
  void stop() {
    request_stop();
    if (thread_.joinable()) thread_.join();
  }

 private:
  using Clock = std::chrono::steady_clock;

  void run() {
    std::unique_lock lock(mu_);
    bool timed = false;  // a timed wake-up is due at `next` (never before the first step)
    Clock::time_point next{};
    auto woken = [this] { return stop_ || (posted_ && (fresh_ || poked_)); };
    for (;;) {
      if (timed)
        cv_.wait_until(lock, next, woken);
      else
        cv_.wait(lock, woken);
      if (stop_) break;
      const bool fresh = fresh_;
      fresh_ = poked_ = false;
      Snapshot snapshot = *posted_;  // a timed wake-up comes after a step: there is one
      const uint64_t seen = posts_;
      lock.unlock();
      Duration delay = step_(snapshot, fresh);
      lock.lock();
      applied_ = seen;
      cv_.notify_all();
      timed = delay != kNever;
      if (timed) next = Clock::now() + std::max(delay, Duration::zero());
    }
    std::optional<Snapshot> last = posted_;
    lock.unlock();
    if (last && finish_) finish_(*last);
    lock.lock();
    running_ = false;
    cv_.notify_all();
  }

  Step step_;      // set by start(), then the thread's
  Finish finish_;  // likewise
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Snapshot> posted_;  // guarded by mu_: the newest post()
  bool fresh_ = false;              // guarded by mu_: posted_ not seen by a step yet
  bool poked_ = false;              // guarded by mu_
  bool stop_ = false;               // guarded by mu_
  bool running_ = false;            // guarded by mu_: the thread has not finished
  uint64_t posts_ = 0;              // guarded by mu_: tickets handed out
  uint64_t applied_ = 0;            // guarded by mu_: newest ticket a finished step saw
  std::thread thread_;              // last: joined before the rest goes
};

}  // namespace ferry::daemon
