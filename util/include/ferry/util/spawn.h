// Starting a helper program from a daemon thread: posix_spawn with stdin from /dev/null, no
// inherited descriptor above 2 (no listening socket leaks into the child), an empty signal mask
// and default dispositions for the signals a daemon handles. Used for userspace WireGuard
// (netlink/supervisor) and operators' hooks (daemon/services/hook).
//
// Any thread; no exceptions.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace ferry::util {

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0]: a path, or with `search_path` a bare name
  std::vector<std::string> env;   // "KEY=VALUE" entries: the child's whole environment
  bool search_path = false;       // look argv[0] up on PATH (posix_spawnp)
  bool own_process_group = false; // the child leads a new process group
};

// Starts the child; 0 with `pid` set, else the errno value (EINVAL for an empty argv).
int spawn(const SpawnOptions& opt, pid_t& pid);

// "exited with status N", "killed by signal NAME" or "stopped", for a waitpid() status.
std::string describe_exit(int status);

}  // namespace ferry::util
