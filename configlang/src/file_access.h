// Which files a configuration text may have read: the one rule for untrusted text.
//
// Trusted text (a file on the host: start, reload, `ferryd -c`) may name any file. Untrusted
// text (LoadOptions::untrusted: the admin API's validate) may only name files under `root`,
// the real path of the running configuration's directory. The rule covers every file the
// loader or the daemon's checks would read: `include` (and each file a pattern matches), and
// every file-path directive that is read at check time (certificates, CA files, admin-tls, the
// mesh key; see input_path() in sections/common.h). A refused path gets one message whatever
// the reason (outside, a symlink leading out, a missing file behind such a link), quoting only
// the path as the user wrote it, so the answer reveals nothing of the host's files. A missing
// file inside `root` is not refused: the usual "No such file" follows.
//
// Checks happen before the file is opened; a file swapped afterwards needs write access to the
// configuration's directory, which only the host's operator has. Pure apart from realpath(3)
// and lstat(2) calls under `root`. Thread: any.
#pragma once

#include <string>

namespace ferry::config::detail {

class FileAccess {
 public:
  FileAccess() = default;  // trusted: every path allowed
  // Untrusted text confined to `dir`, an absolute path (made real here). A relative or
  // unresolvable directory, or "/" (which would be every file), allows nothing.
  static FileAccess confined_to(const std::string& dir);

  bool untrusted() const { return untrusted_; }
  // True when `path` may be read. `path` is as the loader resolved it (relative paths are
  // already joined to the naming file's directory).
  bool allows(const std::string& path) const;
  // The same for an include pattern with wildcards: its directory part before the first
  // wildcard must be allowed (each matched file is checked with allows() as well).
  bool allows_pattern(const std::string& pattern) const;
  // The one refusal message, naming the path as written.
  static std::string refusal(const std::string& as_written);

 private:
  bool untrusted_ = false;
  std::string root_;  // real path, no trailing '/' (except "/")
};

// "/a/./b//c/../d" -> "/a/b/d" (purely textual; ".." at the root stays at the root).
std::string lexically_normal(const std::string& path);

}  // namespace ferry::config::detail
