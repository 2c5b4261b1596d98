// Lifecycle: the daemon's subsystems as one ordered list of steps, walked the same way at
// start-up and at every reload, and in reverse at shutdown. The Daemon's list (Daemon::steps())
// is: logging, certificates (ACME's stored ones), mesh (WireGuard interface, anycast addresses),
// engine (listeners bind here), tracing, acme, history, admin: everything a step needs is put in place
// by the steps before it (an anycast address before a listener binds it, stored certificates
// before the first plan serves them).
//
// - start(cfg): each step's start, in order. A step that fails stops the walk; the steps
//   started before it are stopped in reverse order (their `stop`).
// - reload(next, old): each step's reload, in order. A step that fails (or throws) stops the
//   walk; the steps applied before it get `revert(old)` in reverse order (the configuration
//   in force goes back on them), the later steps are not called. Only steps up to the engine
//   may fail a reload; later steps log their own problems and keep what they had (they must
//   return true), since the engine already serves `next` then.
// - quiesce(): shutdown, first phase: each started step's `quiesce`, in reverse order (stop
//   taking new work: the admin says draining, ACME gives up, the engine drains).
// - stop(): shutdown, last phase: each started step's `stop`, in reverse order, once.
//   Idempotent.
// Missing hooks are no-ops (a missing start/reload succeeds).
//
// Ownership: the Daemon owns one Lifecycle; the hooks borrow the Daemon's members. Thread: the
// main (control) thread only. Errors: hooks return false with `error` (one line per problem);
// the hooks log what they do, the caller logs the failure it is given.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ferry/configlang/config.h"

namespace ferry::daemon::lifecycle {

using Snapshot = std::shared_ptr<const config::Config>;

struct Step {
  std::string name;
  std::function<bool(const Snapshot& cfg, std::string& error)> start;
  std::function<bool(const Snapshot& next, std::string& error)> reload;
  std::function<void(const Snapshot& old)> revert;
  std::function<void()> quiesce;
  std::function<void()> stop;
};

// Which step failed and why.
struct Failure {
  std::string step;
  std::string error;
};

class Lifecycle {
 public:
  Lifecycle() = default;
  explicit Lifecycle(std::vector<Step> steps) : steps_(std::move(steps)) {}

  // True when every step started; else `failed` names the step, and the started ones are
  // stopped again.
  bool start(const Snapshot& cfg, Failure& failed);
  // True when every step applied `next`; else `failed` names the step, and the ones before it
  // were reverted to `old`. A hook's exception counts as its failure (error = what()).
  bool reload(const Snapshot& next, const Snapshot& old, Failure& failed);
  void quiesce();
  void stop();

  // Every step started and not stopped yet.
  bool running() const { return started_ == steps_.size() && !steps_.empty(); }
  std::vector<std::string> names() const;

 private:
  void stop_started();

  std::vector<Step> steps_;
  size_t started_ = 0;  // steps_[0, started_) are started
};

}  // namespace ferry::daemon::lifecycle
