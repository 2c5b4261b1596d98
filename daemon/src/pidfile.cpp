#include "pidfile.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace ferry::daemon {

bool PidFile::write(const std::string& path, std::string& error) {
  std::string text = std::to_string(::getpid()) + "\n";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = "pidfile " + path + ": " + std::strerror(errno);
    return false;
  }
  ssize_t n = ::write(fd, text.data(), text.size());
  int saved = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size())) {
    error = "pidfile " + path + ": " + std::strerror(n < 0 ? saved : EIO);
    ::unlink(path.c_str());
    return false;
  }
  path_ = path;
  return true;
}

void PidFile::remove() {
  if (path_.empty()) return;
  // Only remove our own file: a successor may already have replaced it.
  std::ifstream in(path_);
  long pid = 0;
  if (in >> pid && pid == static_cast<long>(::getpid())) ::unlink(path_.c_str());
  path_.clear();
}

}  // namespace ferry::daemon
