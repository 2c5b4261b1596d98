#include "api/daemon_status.h"

#include <signal.h>
#include <unistd.h>

namespace ferry::daemon {

DaemonStatus::DaemonStatus(std::string config_path) { s_.config_path = std::move(config_path); }

DaemonSnapshot DaemonStatus::get() const {
  std::lock_guard<std::mutex> lk(mu_);
  return s_;
}

void DaemonStatus::started(std::shared_ptr<const config::Config> cfg, std::string config_text) {
  std::lock_guard<std::mutex> lk(mu_);
  s_.config = std::move(cfg);
  s_.config_text = std::move(config_text);
  s_.generation = 1;
  s_.started_at = s_.loaded_at = s_.reload.last_at = std::chrono::system_clock::now();
}

void DaemonStatus::reloaded(std::shared_ptr<const config::Config> cfg, std::string config_text) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    s_.config = std::move(cfg);
    s_.config_text = std::move(config_text);
    ++s_.generation;
    ++s_.reload.attempts;
    s_.reload.last_ok = true;
    s_.reload.last_error.clear();
    s_.loaded_at = s_.reload.last_at = std::chrono::system_clock::now();
  }
  cv_.notify_all();
}

void DaemonStatus::set_listeners(std::vector<std::pair<std::string, std::string>> listeners) {
  std::lock_guard<std::mutex> lk(mu_);
  s_.listeners = std::move(listeners);
}

void DaemonStatus::reload_failed(std::string error) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    ++s_.reload.attempts;
    ++s_.reload.failures;
    s_.reload.last_ok = false;
    s_.reload.last_error = std::move(error);
    s_.reload.last_at = std::chrono::system_clock::now();
  }
  cv_.notify_all();
}

ReloadRecord DaemonStatus::request_reload(std::chrono::milliseconds timeout, bool& finished) {
  std::unique_lock<std::mutex> lk(mu_);
  const uint64_t before = s_.reload.attempts;
  // The main thread waits for SIGHUP with sigwait (signals.h); raising it from this thread
  // queues it for the process, so the main thread picks it up like an operator's `kill -HUP`.
  ::kill(::getpid(), SIGHUP);
  finished = cv_.wait_for(lk, timeout, [&] { return s_.reload.attempts > before; });
  return s_.reload;
}

}  // namespace ferry::daemon
