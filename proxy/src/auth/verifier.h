// Runs the password KDFs of `basic-auth` (util/password.h: the default scrypt costs ~50-100 ms
// and 32 MiB) off the worker loops: one thread of its own and a bounded queue of checks. A
// worker co_awaits verify(); the verdict is posted back to that worker's loop. A full queue
// answers `busy` at once (the request gets 503), so a flood of guesses costs one thread and a
// bounded wait, never the workers. Verdicts are cached per worker (auth/basic.h), so a client
// that keeps sending the same credentials reaches this once.
//
// Ownership: the Engine owns one (EngineShared::verifier) for its whole life and calls stop()
// before its workers' loops are destroyed. Threads: verify() on any worker; the KDFs on the
// verifier's thread; counters are atomics. Never throws but bad_alloc.
#pragma once

#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "auth/users.h"
#include "net/asio_util.h"

namespace ferry::proxy::auth {

class CredentialVerifier {
 public:
  enum class Verdict { ok, wrong, busy };
  // Checks waiting or running at most; at ~70 ms each the last waits ~2 s.
  static constexpr size_t kQueueMax = 32;

  CredentialVerifier();
  ~CredentialVerifier();
  CredentialVerifier(const CredentialVerifier&) = delete;
  CredentialVerifier& operator=(const CredentialVerifier&) = delete;

  // Worker coroutine: the verdict on `password` for `account`. `account` null: an unknown
  // user, checked against `like`'s hash (the same work) and always wrong. The hash is copied:
  // the plan may go while the check waits.
  awaitable<Verdict> verify(std::string_view password, const User* account, const User& like) {
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(Verdict)>(
        [this, pw = std::string(password), hash = account ? account->hash : like.hash,
         known = account != nullptr](auto handler) mutable {
          auto job = std::make_unique<JobOf<decltype(handler)>>(std::move(handler));
          job->password = std::move(pw);
          job->hash = std::move(hash);
          job->known = known;
          submit(std::move(job));
        },
        asio::use_awaitable);
  }

  // Control thread: refuses new checks, answers queued ones `busy`, joins the thread.
  void stop();

  // Checks waiting, and being run (0 or 1). Any thread.
  size_t queued() const;
  size_t running() const;
  uint64_t verifications() const { return verifications_.load(std::memory_order_relaxed); }
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }

 private:
  struct Job {
    virtual ~Job() = default;
    virtual void finish(Verdict v) = 0;  // posts the verdict to the waiting worker
    std::string password;
    util::PasswordHash hash;
    bool known = false;
  };
  template <typename Handler>
  struct JobOf final : Job {
    explicit JobOf(Handler&& h) : handler(std::move(h)) {}
    void finish(Verdict v) override {
      auto ex = asio::get_associated_executor(handler);
      asio::post(ex, [h = std::move(handler), v]() mutable { std::move(h)(v); });
    }
    Handler handler;
  };

  void submit(std::unique_ptr<Job> job);
  void run();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Job>> queue_;  // under mu_
  size_t running_ = 0;                       // under mu_: 0 or 1
  bool stopped_ = false;                     // under mu_
  std::atomic<uint64_t> verifications_{0}, refused_{0};
  std::thread thread_;  // last: started once the members above exist
};

}  // namespace ferry::proxy::auth
