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

extern char** environ;

namespace ferry::netlink {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kBackoffMin{1000};
constexpr milliseconds kBackoffMax{60000};
constexpr milliseconds kStableUptime{60000};  // uptime after which the back-off resets
constexpr milliseconds kPollSlice{100};

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
  return "stopped";
}

}  // namespace

Supervisor::Supervisor(Options options) : opt_(std::move(options)) {}

Supervisor::~Supervisor() { stop(); }

std::string Supervisor::name() const {
  return (opt_.command.empty() ? std::string("(no program)") : opt_.command.front()) + " for " + opt_.interface;
}

Status Supervisor::spawn() {
  if (opt_.command.empty()) return Status::error(EINVAL, "userspace WireGuard: no program configured");
  std::vector<std::string> args = opt_.command;
  args.push_back("-f");
  args.push_back(opt_.interface);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_store;
  for (char** e = environ; e && *e; ++e)
    if (std::strncmp(*e, "WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=", 45) != 0) env_store.emplace_back(*e);
  env_store.emplace_back("WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1");
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);  // no listening socket leaks into the child
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigemptyset(&defaults);
  for (int s : {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
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
      return Status::error(ECHILD, "start " + name() + ": " + describe_exit(status) + " before it was ready");
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
    return Status::error(ECHILD, name() + " " + describe_exit(status) + ", restarting in " +
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
