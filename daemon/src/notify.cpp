#include "notify.h"

#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <ctime>
#include <string>

namespace ferry::daemon {

void notify_ready() {
  std::string msg = "READY=1\nMAINPID=" + std::to_string(::getpid());
  sd_notify(0, msg.c_str());
}

void notify_reloading() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  unsigned long long usec =
      static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL + ts.tv_nsec / 1000;
  std::string msg = "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec);
  sd_notify(0, msg.c_str());
}

void notify_reloaded() { sd_notify(0, "READY=1"); }

void notify_stopping() { sd_notify(0, "STOPPING=1"); }

}  // namespace ferry::daemon
