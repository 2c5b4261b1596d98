#include "signals.h"

#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <ctime>

namespace ferry::daemon {

namespace {

sigset_t control_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGQUIT);
  return set;
}

sigset_t stop_set() {
  sigset_t set = control_set();
  sigdelset(&set, SIGHUP);
  return set;
}

}  // namespace

void block_control_signals() {
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  sigaction(SIGPIPE, &ign, nullptr);
  sigset_t set = control_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int wait_control_signal() {
  sigset_t set = control_set();
  for (;;) {
    int signo = sigwaitinfo(&set, nullptr);
    if (signo > 0) return signo;
    // EINTR (a signal outside the set, e.g. SIGSTOP/SIGCONT): wait again.
  }
}

bool poll_stop_signal() {
  sigset_t set = stop_set();
  timespec zero{0, 0};
  return sigtimedwait(&set, nullptr, &zero) > 0;
}

const char* signal_name(int signo) {
  switch (signo) {
    case SIGHUP: return "SIGHUP";
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGQUIT: return "SIGQUIT";
    default: return "signal";
  }
}

}  // namespace ferry::daemon
