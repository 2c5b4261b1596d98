#include "observe/slow_log.h"

namespace ferry::proxy {

void SlowLog::add(SlowRequest r) {
  std::unique_lock lk(mu_, std::try_to_lock);
  if (!lk.owns_lock()) return;  // an admin read or another worker holds it: never wait
  if (entries_.size() >= kCapacity) entries_.pop_front();
  entries_.push_back(std::move(r));
}

std::vector<SlowRequest> SlowLog::snapshot(std::string_view app, size_t max) const {
  std::lock_guard lk(mu_);
  std::vector<SlowRequest> out;
  for (auto it = entries_.rbegin(); it != entries_.rend() && out.size() < max; ++it)
    if (it->app == app) out.push_back(*it);
  return out;
}

}  // namespace ferry::proxy
