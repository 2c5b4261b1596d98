#include "lifecycle/lifecycle.h"

#include <exception>

namespace ferry::daemon::lifecycle {

bool Lifecycle::start(const Snapshot& cfg, Failure& failed) {
  for (started_ = 0; started_ < steps_.size(); ++started_) {
    const Step& s = steps_[started_];
    std::string error;
    if (s.start && !s.start(cfg, error)) {
      failed = Failure{s.name, error};
      stop_started();
      return false;
    }
  }
  return true;
}

bool Lifecycle::reload(const Snapshot& next, const Snapshot& old, Failure& failed) {
  for (size_t i = 0; i < steps_.size(); ++i) {
    const Step& s = steps_[i];
    std::string error;
    bool ok = true;
    try {
      ok = !s.reload || s.reload(next, error);
    } catch (const std::exception& e) {
      ok = false;
      error = e.what();
    }
    if (ok) continue;
    failed = Failure{s.name, error};
    for (size_t j = i; j-- > 0;)
      if (steps_[j].revert) steps_[j].revert(old);
    return false;
  }
  return true;
}

void Lifecycle::quiesce() {
  for (size_t i = started_; i-- > 0;)
    if (steps_[i].quiesce) steps_[i].quiesce();
}

void Lifecycle::stop() { stop_started(); }

void Lifecycle::stop_started() {
  while (started_ > 0) {
    const Step& s = steps_[--started_];
    if (s.stop) s.stop();
  }
}

std::vector<std::string> Lifecycle::names() const {
  std::vector<std::string> out;
  for (const Step& s : steps_) out.push_back(s.name);
  return out;
}

}  // namespace ferry::daemon::lifecycle
