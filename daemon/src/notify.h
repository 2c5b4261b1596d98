// systemd readiness notifications (sd_notify). Harmless no-ops when not run by systemd
// (NOTIFY_SOCKET unset). Thread: control thread. Errors are ignored: notification is advisory.
#pragma once

namespace ferry::daemon {

void notify_ready();      // "READY=1\nMAINPID=<pid>"
void notify_reloading();  // "RELOADING=1\nMONOTONIC_USEC=<now>"
void notify_reloaded();   // "READY=1"
void notify_stopping();   // "STOPPING=1"

}  // namespace ferry::daemon
