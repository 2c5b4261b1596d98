#include "store/open.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace ferry::store {
namespace {

Status os_error(const std::string& what, const std::string& path, int err) {
  return Status::failure(what + " " + path + ": " + std::strerror(err), err);
}

std::string octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// Removes group/world bits from an existing file or directory (`fd` < 0: by path).
Status tighten(const std::string& what, const std::string& path, int fd, mode_t mode,
               std::vector<std::string>& changes) {
  if ((mode & 077) == 0) return Status::success();
  const mode_t tight = mode & 07700;
  int rc = fd >= 0 ? ::fchmod(fd, tight) : ::chmod(path.c_str(), tight);
  if (rc != 0) return os_error("cannot restrict permissions (" + octal(mode) + ") of " + what, path, errno);
  changes.push_back("tightened mode of " + what + " " + path + " from " + octal(mode) + " to " + octal(tight));
  return Status::success();
}

Status ensure_state_dir(const std::string& dir, std::vector<std::string>& changes) {
  if (::mkdir(dir.c_str(), 0700) == 0) {
    // The umask may have removed owner bits; set the mode exactly.
    if (::chmod(dir.c_str(), 0700) != 0) return os_error("cannot set mode 0700 on state directory", dir, errno);
    changes.push_back("created state directory " + dir + " (mode 0700)");
    return Status::success();
  }
  if (errno != EEXIST) return os_error("cannot create state directory", dir, errno);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return os_error("cannot stat state directory", dir, errno);
  if (!S_ISDIR(st.st_mode)) return os_error("cannot use state directory", dir, ENOTDIR);
  return tighten("state directory", dir, -1, st.st_mode, changes);
}

// Creates the database file 0600 (exactly, whatever the umask) or makes an existing one
// private. O_NOFOLLOW: the database is never reached through a symlink.
Status ensure_db_file(const std::string& path, std::vector<std::string>& changes) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd >= 0) {
    int rc = ::fchmod(fd, 0600);
    int err = errno;
    ::close(fd);
    if (rc != 0) return os_error("cannot set mode 0600 on database", path, err);
    changes.push_back("created database " + path + " (mode 0600)");
    return Status::success();
  }
  if (errno != EEXIST) return os_error("cannot create database", path, errno);
  fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return os_error("cannot open database", path, errno);
  struct stat st {};
  Status s = ::fstat(fd, &st) == 0 ? Status::success() : os_error("cannot stat database", path, errno);
  if (s && !S_ISREG(st.st_mode)) s = Status::failure("database " + path + " is not a regular file", EINVAL);
  if (s) s = tighten("database", path, fd, st.st_mode, changes);
  ::close(fd);
  return s;
}

// Leftover -wal/-shm files from an earlier run keep their own mode; make them private too.
Status tighten_sidecars(const std::string& db_path, std::vector<std::string>& changes) {
  for (const char* suffix : {"-wal", "-shm"}) {
    const std::string path = db_path + suffix;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    Status s = tighten("database file", path, -1, st.st_mode, changes);
    if (!s) return s;
  }
  return Status::success();
}

// Turns the SQLite codes a damaged or busy file produces into messages an operator can act on.
Status explain(Status s, const std::string& path, const OpenOptions& options) {
  if (s) return s;
  switch (s.code & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      s.message = "database " + path + " is not an SQLite database or is corrupt (" + s.message + ")";
      break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      s.message = "database " + path + " is locked by another process (waited " +
                  std::to_string(options.busy_timeout_ms) + " ms) (" + s.message + ")";
      break;
    default:
      break;
  }
  return s;
}

Status configure(Db& db, const OpenOptions& options) {
  Status s = db.set_busy_timeout(options.busy_timeout_ms);
  int version = 0;
  // The first statement that reads the file: a non-database fails here with SQLITE_NOTADB.
  // A newer schema is refused before anything (even the journal mode) is written.
  if (s) s = read_schema_version(db, latest_schema_version(), version);
  std::string mode;
  if (s) s = db.query_text("PRAGMA journal_mode = WAL", mode);
  if (s && mode != "wal")
    s = Status::failure("database " + db.path() + ": cannot enable WAL (journal_mode is " + mode + ")", SQLITE_ERROR);
  if (s) s = db.exec("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;");
  return s;
}

}  // namespace

Status open_store(const std::string& state_dir, Db& db, OpenReport& report, const OpenOptions& options) {
  db.close();
  report = OpenReport{};
  report.db_path = state_dir + "/" + kDatabaseFileName;
  Status s = ensure_state_dir(state_dir, report.changes);
  if (s) s = ensure_db_file(report.db_path, report.changes);
  if (s) s = tighten_sidecars(report.db_path, report.changes);
  // No SQLITE_OPEN_CREATE: the file exists now, with the mode chosen above.
  if (s) s = db.open(report.db_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW);
  if (s) s = explain(configure(db, options), report.db_path, options);
  if (s) s = explain(migrate(db, report.schema), report.db_path, options);
  if (!s) db.close();
  return s;
}

}  // namespace ferry::store
