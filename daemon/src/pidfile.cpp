#include "pidfile.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace ferry::daemon {

namespace {

std::string why(const std::string& path, const std::string& what) { return "pidfile " + path + ": " + what; }

}  // namespace

bool PidFile::write(const std::string& path, std::string& error) {
  // Only a regular file (a stale pidfile) may be replaced: a symlink, a directory, a FIFO or a
  // device at the path is refused, so nothing is ever written through a link planted there.
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode)) {
      error = why(path, std::string(S_ISLNK(st.st_mode) ? "is a symbolic link" : "is not a regular file") +
                            " (refused: only a regular file is replaced)");
      return false;
    }
  } else if (errno != ENOENT) {
    error = why(path, std::strerror(errno));
    return false;
  }
  // A new file next to it (O_EXCL, O_NOFOLLOW, O_CLOEXEC), mode 0644 whatever the umask, then
  // rename(2) over the path: readers see the old file or the whole new one, and rename
  // replaces the name itself (a link planted after the check is replaced, not followed).
  std::string tmp = path + ".XXXXXX";
  std::vector<char> name(tmp.begin(), tmp.end());
  name.push_back('\0');
  int fd = ::mkostemp(name.data(), O_CLOEXEC);  // O_CREAT | O_EXCL, 0600
  if (fd < 0) {
    error = why(path, std::string("cannot create a file in its directory: ") + std::strerror(errno));
    return false;
  }
  tmp.assign(name.data());
  std::string text = std::to_string(::getpid()) + "\n";
  bool ok = ::fchmod(fd, 0644) == 0;
  int saved = errno;
  if (ok) {
    ssize_t n = ::write(fd, text.data(), text.size());
    saved = n < 0 ? errno : EIO;
    ok = n == static_cast<ssize_t>(text.size());
  }
  if (::close(fd) != 0 && ok) {
    ok = false;
    saved = errno;
  }
  if (ok && ::rename(tmp.c_str(), path.c_str()) != 0) {
    ok = false;
    saved = errno;
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    error = why(path, std::strerror(saved));
    return false;
  }
  path_ = path;
  return true;
}

void PidFile::remove() {
  if (path_.empty()) return;
  // Only remove our own file: a successor may already have replaced it. Read without following
  // a link or blocking on a FIFO put there since.
  int fd = ::open(path_.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd >= 0) {
    struct stat st {};
    char buf[32] = {};
    ssize_t n = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? ::read(fd, buf, sizeof buf - 1) : -1;
    ::close(fd);
    if (n > 0 && std::strtol(buf, nullptr, 10) == static_cast<long>(::getpid())) ::unlink(path_.c_str());
  }
  path_.clear();
}

}  // namespace ferry::daemon
