// Control signals, handled synchronously on the main (control) thread with sigwaitinfo().
//
// block_control_signals() must run on the main thread before any other thread is created:
// threads inherit the mask, so the signals stay pending for the main thread's wait.
#pragma once

#include <chrono>

namespace ferry::daemon {

// Blocks SIGHUP, SIGTERM, SIGINT and SIGQUIT in the calling thread and ignores SIGPIPE.
void block_control_signals();

// Waits (forever) for the next of SIGHUP/SIGTERM/SIGINT/SIGQUIT and returns its number.
int wait_control_signal();

// Returns true (consuming it) if a stop signal (SIGTERM/SIGINT/SIGQUIT) is pending. Never waits.
bool poll_stop_signal();

const char* signal_name(int signo);

}  // namespace ferry::daemon
