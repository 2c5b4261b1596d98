// File access rule for untrusted text: see file_access.h.
#include "file_access.h"

#include <sys/stat.h>

#include <climits>
#include <cstdlib>
#include <vector>

namespace ferry::config::detail {

namespace {

bool real(const std::string& path, std::string& out) {
  char buf[PATH_MAX];
  if (!::realpath(path.c_str(), buf)) return false;
  out = buf;
  return true;
}

bool under(const std::string& path, const std::string& root) {
  if (root == "/") return !path.empty() && path[0] == '/';
  return path == root || (path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
                          path[root.size()] == '/');
}

std::string parent_of(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return "";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

std::string lexically_normal(const std::string& path) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    std::string part = path.substr(pos, slash - pos);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(std::move(part));
    }
    pos = slash + 1;
  }
  std::string out;
  for (const auto& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

FileAccess FileAccess::confined_to(const std::string& dir) {
  FileAccess a;
  a.untrusted_ = true;
  std::string r;
  // "/" would allow every file: a configuration kept at the root of the file system gets none.
  if (!dir.empty() && dir[0] == '/' && real(dir, r) && r != "/") a.root_ = r;
  return a;
}

bool FileAccess::allows(const std::string& path) const {
  if (!untrusted_) return true;
  if (root_.empty() || path.empty() || path[0] != '/') return false;
  // Textually outside: refused without touching the file system there.
  if (!under(lexically_normal(path), root_)) return false;
  std::string r;
  if (real(path, r)) return under(r, root_);
  // Missing: allowed (the caller then says "No such file") only when the nearest existing
  // ancestor really is inside and no dangling symlink is on the way, so a link the operator
  // left in the directory cannot be used to probe for files outside.
  for (std::string p = path; !p.empty(); p = parent_of(p)) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) == 0 && S_ISLNK(st.st_mode) && !real(p, r)) return false;
    if (real(p, r)) return under(r, root_);
    if (p == "/") break;
  }
  return false;
}

bool FileAccess::allows_pattern(const std::string& pattern) const {
  if (!untrusted_) return true;
  size_t wild = pattern.find_first_of("*?[");
  std::string dir = parent_of(wild == std::string::npos ? pattern : pattern.substr(0, wild + 1));
  return !dir.empty() && allows(dir) && under(lexically_normal(pattern), root_);
}

std::string FileAccess::refusal(const std::string& as_written) {
  return "'" + as_written +
         "' is not allowed: validation through the admin API reads only files under the running "
         "configuration's directory (`ferryd -c` on the host reads any file)";
}

}  // namespace ferry::config::detail
