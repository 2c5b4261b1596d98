// The --pidfile file: written once the process is the final (daemonized) one, removed at exit.
//
// Safe against a planted path: a symlink, directory, FIFO or device at the path is refused
// (start-up failure, exit 3) and never written through; a stale regular file is replaced
// atomically (a new 0644 file written next to it with O_EXCL|O_NOFOLLOW|O_CLOEXEC, then
// renamed over it). The pidfile's directory should be writable by ferryd's user only (e.g.
// /run/ferry): whoever can write there can still replace the file itself.
//
// Ownership: one PidFile per process, owned by the application. Thread: control thread.
#pragma once

#include <string>

namespace ferry::daemon {

class PidFile {
 public:
  PidFile() = default;
  ~PidFile() { remove(); }
  PidFile(const PidFile&) = delete;
  PidFile& operator=(const PidFile&) = delete;

  // Writes "<pid>\n" to `path` (mode 0644, see above). False with `error` set when it cannot
  // be written or something else than a regular file is there; then no file is owned.
  bool write(const std::string& path, std::string& error);
  // Removes the file if this object wrote it and it still holds our pid. Idempotent.
  void remove();

 private:
  std::string path_;
};

}  // namespace ferry::daemon
