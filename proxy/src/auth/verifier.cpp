#include "auth/verifier.h"

#include <openssl/crypto.h>

#include "ferry/util/password.h"

namespace ferry::proxy::auth {

CredentialVerifier::CredentialVerifier() : thread_([this] { run(); }) {}

CredentialVerifier::~CredentialVerifier() { stop(); }

void CredentialVerifier::stop() {
  std::deque<std::unique_ptr<Job>> left;
  {
    std::lock_guard lk(mu_);
    if (stopped_ && !thread_.joinable()) return;
    stopped_ = true;
    left.swap(queue_);
  }
  cv_.notify_all();
  for (auto& j : left) j->finish(Verdict::busy);
  if (thread_.joinable()) thread_.join();
}

size_t CredentialVerifier::queued() const {
  std::lock_guard lk(mu_);
  return queue_.size();
}

size_t CredentialVerifier::running() const {
  std::lock_guard lk(mu_);
  return running_;
}

void CredentialVerifier::submit(std::unique_ptr<Job> job) {
  {
    std::lock_guard lk(mu_);
    if (!stopped_ && queue_.size() + running_ < kQueueMax) {
      queue_.push_back(std::move(job));
      cv_.notify_one();
      return;
    }
  }
  refused_.fetch_add(1, std::memory_order_relaxed);
  job->finish(Verdict::busy);
}

void CredentialVerifier::run() {
  for (;;) {
    std::unique_ptr<Job> job;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stopped_ || !queue_.empty(); });
      if (stopped_) return;  // stop() answers what is left
      job = std::move(queue_.front());
      queue_.pop_front();
      running_ = 1;
    }
    const bool match = util::verify_password(job->password, job->hash);
    OPENSSL_cleanse(job->password.data(), job->password.size());
    verifications_.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard lk(mu_);
      running_ = 0;  // before the verdict is posted: its waiter may submit the next check at once
    }
    job->finish(match && job->known ? Verdict::ok : Verdict::wrong);
  }
}

}  // namespace ferry::proxy::auth
