// The --pidfile file: written once the process is the final (daemonized) one, removed at exit.
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

  // Writes "<pid>\n" to `path` (created or truncated, mode 0644). False with `error` set
  // when it cannot be written; then no file is owned.
  bool write(const std::string& path, std::string& error);
  // Removes the file if this object wrote it and it still holds our pid. Idempotent.
  void remove();

 private:
  std::string path_;
};

}  // namespace ferry::daemon
