#include "ferry/netlink/supervisor.h"

#include "ferry/netlink/route.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "ferry/netlink/wg_uapi.h"
#include "ferry/util/spawn.h"

extern char** environ;

namespace ferry::netlink {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kBackoffMin{1000};
constexpr milliseconds kBackoffMax{60000};
constexpr milliseconds kStableUptime{60000};  // uptime after which the back-off resets
constexpr milliseconds kPollSlice{100};


}  // namespace

Supervisor::Supervisor(Options options) : opt_(std::move(options)) {}

Supervisor::~Supervisor() { stop(); }

std::string Supervisor::name() const {
  return (opt_.command.empty() ? std::string("(no program)") : opt_.command.front()) + " for " + opt_.interface;
}

Status Supervisor::spawn() {
  if (opt_.command.empty()) return Status::error(EINVAL, "userspace WireGuard: no program configured");
  util::SpawnOptions so;
  so.argv = opt_.command;
  so.argv.push_back("-f");
  so.argv.push_back(opt_.interface);
  for (char** e = environ; e && *e; ++e)
    if (std::strncmp(*e, "WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=", 45) != 0) so.env.emplace_back(*e);
  so.env.emplace_back("WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1");
  so.own_process_group = true;
  pid_t pid = -1;
  const int rc = util::spawn(so, pid);
  if (rc != 0) return Status::error(rc, "start " + name() + ": " + std::strerror(rc));
  pid_ = pid;
  started_ = Clock::now();
  return Status::success(true);
}

Status Supervisor::wait_ready() {
  UapiWg probe(opt_.interface, opt_.uapi_dir);
  const auto deadline = Clock::now() + opt_.ready_timeout;
  Status last;
  for (;;) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Status::error(ECHILD, "start " + name() + ": " + util::describe_exit(status) + " before it was ready");
    }
    WgDeviceStatus st;
    last = probe.get(st);
    if (last) return Status::success(true);
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(kPollSlice);
  }
  return Status::error(ETIMEDOUT, "start " + name() + ": its socket did not answer within " +
                                      std::to_string(opt_.ready_timeout.count()) + " ms (" + last.message + ")");
}

// A program left running by an earlier ferryd that died without stopping it (SIGKILL, crash)
// still owns the interface and its socket, and ours would fail to create the TUN device and
// loop. Deleting the link ends it (wireguard-go exits when its TUN goes away); its socket is
// removed too. Best effort: a failure shows up as the spawn's own error.
void Supervisor::clear_leftover() {
  UapiWg probe(opt_.interface, opt_.uapi_dir);
  WgDeviceStatus st;
  if (!probe.get(st)) return;  // nobody serves this interface
  Rtnl rt;
  rt.delete_link(opt_.interface);
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  while (Clock::now() < deadline && probe.get(st)) std::this_thread::sleep_for(kPollSlice);
  ::unlink(probe.socket_path().c_str());
}

Status Supervisor::start() {
  if (pid_ > 0) return Status::success(false);
  clear_leftover();
  if (Status s = spawn(); !s) return s;
  Status s = wait_ready();
  if (!s) stop();
  return s;
}

Status Supervisor::poll() {
  if (pid_ > 0) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == 0) return Status::success(false);
    pid_ = -1;
    auto uptime = std::chrono::duration_cast<milliseconds>(Clock::now() - started_);
    backoff_ = uptime >= kStableUptime ? kBackoffMin : std::min(kBackoffMax, std::max(kBackoffMin, backoff_ * 2));
    next_try_ = Clock::now() + backoff_;
    return Status::error(ECHILD, name() + " " + util::describe_exit(status) + ", restarting in " +
                                     std::to_string(backoff_.count()) + " ms");
  }
  if (opt_.command.empty() || Clock::now() < next_try_) return Status::success(false);
  Status s = start();
  if (!s) {
    backoff_ = std::min(kBackoffMax, std::max(kBackoffMin, backoff_ * 2));
    next_try_ = Clock::now() + backoff_;
    s.message += ", retrying in " + std::to_string(backoff_.count()) + " ms";
  }
  return s;
}

void Supervisor::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  const auto deadline = Clock::now() + opt_.stop_timeout;
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno != EINTR)) break;
    if (Clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  pid_ = -1;
}

}  // namespace ferry::netlink
