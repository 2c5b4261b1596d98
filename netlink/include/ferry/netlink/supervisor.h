// Supervises a userspace WireGuard implementation (wireguard-go, boringtun) for one interface:
// starts `PROGRAM [ARG...] -f IFACE` with WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 added to
// the environment, waits until its UAPI socket answers, notices when it exits and restarts it
// with exponential back-off (1 s doubling to 60 s, reset after 60 s of uptime), and stops it
// with SIGTERM, then SIGKILL after a timeout.
//
// The child gets stdin from /dev/null, ferryd's stdout/stderr, an empty signal mask with default
// dispositions, its own process group (a terminal's Ctrl-C reaches ferryd, which stops it in
// order), and no other file descriptor of ferryd (every fd >= 3 is closed in the child, so
// listening sockets are not inherited whatever their O_CLOEXEC flag).
//
// Ownership: the Supervisor owns the child process; the destructor stop()s it. Thread: one
// control thread; not thread-safe. Nothing throws; errors are Status values naming the program.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "ferry/netlink/status.h"

namespace ferry::netlink {

class Supervisor {
 public:
  struct Options {
    std::vector<std::string> command;  // PROGRAM [ARG...]; "-f IFACE" is appended
    std::string interface;
    std::string uapi_dir = "/var/run/wireguard";
    std::chrono::milliseconds ready_timeout{10000};  // for the UAPI socket to answer
    std::chrono::milliseconds stop_timeout{5000};    // SIGTERM -> SIGKILL
  };

  explicit Supervisor(Options options);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Spawns the program and waits (up to ready_timeout) until its socket answers a get. On
  // failure the child, if any, is stopped and the error names the program.
  Status start();

  // Call periodically: reaps an exited child and, once its back-off has passed, restarts it.
  // Returns success with changed == true when a new child became ready (the caller re-applies
  // the device configuration: a new process starts with an empty device); an error when the
  // child exited or a restart failed (message says which, with the exit status).
  Status poll();

  // SIGTERM, wait up to stop_timeout, then SIGKILL and reap. Idempotent.
  void stop();

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  const Options& options() const { return opt_; }

 private:
  Status spawn();
  void clear_leftover();
  Status wait_ready();
  std::string name() const;

  Options opt_;
  pid_t pid_ = -1;
  std::chrono::steady_clock::time_point started_{};
  std::chrono::steady_clock::time_point next_try_{};
  std::chrono::milliseconds backoff_{0};
};

}  // namespace ferry::netlink
