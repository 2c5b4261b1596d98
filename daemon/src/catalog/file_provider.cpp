#include "catalog/file_provider.h"

#include <dirent.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "catalog/catalog.h"
#include "catalog/instance_json.h"
#include "services/logging.h"

namespace ferry::daemon::catalog {

namespace {

constexpr size_t kMaxFile = 64 * 1024;

bool same_instance(const Record& a, const Record& b) {
  const proxy::Instance &x = a.inst, &y = b.inst;
  return x.addr.to_string() == y.addr.to_string() && x.region == y.region && x.state == y.state &&
         x.weight == y.weight && x.soft == y.soft && x.hard == y.hard && a.metadata == b.metadata;
}

// The value of the source tag for file NAME.json.
std::string source_of(const std::string& name) { return "file:" + name; }

}  // namespace

FileProvider::FileProvider(Catalog& catalog, std::string dir) : catalog_(catalog), dir_(std::move(dir)) {
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  thread_ = std::thread([this] { run(); });
}

FileProvider::~FileProvider() {
  const uint64_t one = 1;
  if (stop_fd_ >= 0 && ::write(stop_fd_, &one, sizeof one) < 0) {
  }
  if (thread_.joinable()) thread_.join();
  if (stop_fd_ >= 0) ::close(stop_fd_);
}

void FileProvider::run() {
  int in = -1;
  bool warned = false;
  for (;;) {
    if (in < 0) {  // (again) until the directory exists
      in = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
      if (in >= 0 && ::inotify_add_watch(in, dir_.c_str(),
                                         IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE |
                                             IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR) < 0) {
        if (!warned) logger().warning("catalog: instances-dir " + dir_ + ": cannot watch it (" + std::strerror(errno) +
                                      "); trying again every 5 s");
        warned = true;
        ::close(in);
        in = -1;
      } else if (in >= 0) {
        warned = false;
      }
    }
    scan();
    pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {in, POLLIN, 0}};
    const int n = ::poll(fds, in >= 0 ? 2 : 1, 5'000);  // and a rescan every 5 s regardless
    if (n > 0 && (fds[0].revents & POLLIN)) break;
    if (n > 0 && in >= 0 && (fds[1].revents & POLLIN)) {
      ::usleep(50'000);  // let a burst of writes settle into one rescan
      alignas(inotify_event) char buf[16384];
      bool gone = false;
      for (ssize_t r; (r = ::read(in, buf, sizeof buf)) > 0;)
        for (char* p = buf; p < buf + r;) {
          auto* ev = reinterpret_cast<inotify_event*>(p);
          gone = gone || (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED));
          p += sizeof(inotify_event) + ev->len;
        }
      if (gone) {  // the directory itself went: watch it again once it is back
        ::close(in);
        in = -1;
      }
    }
  }
  if (in >= 0) ::close(in);
}

void FileProvider::scan() {
  // The files as they are now: NAME -> content (or the reason it cannot be used).
  std::map<std::string, std::string> files;
  std::set<std::string> present;
  if (DIR* d = ::opendir(dir_.c_str())) {
    while (dirent* e = ::readdir(d)) {
      const std::string f = e->d_name;
      if (f.empty() || f[0] == '.' || f.size() <= 5 || f.compare(f.size() - 5, 5, ".json") != 0) continue;
      const std::string path = dir_ + "/" + f;
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      const std::string name = f.substr(0, f.size() - 5);
      present.insert(name);
      if (static_cast<size_t>(st.st_size) > kMaxFile) {
        files[name] = "\x01larger than 64 KiB";
        continue;
      }
      std::ifstream is(path, std::ios::binary);
      std::ostringstream ss;
      ss << is.rdbuf();
      files[name] = is ? ss.str() : "\x01unreadable";
    }
    ::closedir(d);
  } else {
    return;  // the directory is missing or unreadable: nothing changes (the watch loop says so)
  }
  std::map<std::pair<std::string, std::string>, Record> mine;  // the instances files registered
  std::map<std::pair<std::string, std::string>, Record> local;
  for (Record& r : catalog_.local_records()) {
    const auto key = std::make_pair(r.inst.app, r.inst.id);
    for (const auto& [k, v] : r.metadata)
      if (k == kSourceKey && v.rfind("file:", 0) == 0) mine[key] = r;
    local[key] = std::move(r);
  }
  std::set<std::pair<std::string, std::string>> named;  // by a good file
  for (const auto& [name, text] : files) {
    std::string error;
    Record r;
    if (!text.empty() && text[0] == '\x01') error = text.substr(1);
    else if (parse_instance(text, r, error, name)) {
      r.metadata.erase(std::remove_if(r.metadata.begin(), r.metadata.end(),
                                      [](const auto& kv) { return kv.first == kSourceKey; }),
                       r.metadata.end());
      r.metadata.emplace_back(kSourceKey, source_of(name));
      error = check(r);
    }
    if (!error.empty()) {
      if (reported_[name] != error) logger().error("catalog: instances-dir " + dir_ + "/" + name + ".json: " + error);
      reported_[name] = error;
      // Its instance (if any) stays as it was.
      for (const auto& [key, rec] : mine)
        for (const auto& [k, v] : rec.metadata)
          if (k == kSourceKey && v == source_of(name)) named.insert(key);
      continue;
    }
    reported_.erase(name);
    const auto key = std::make_pair(r.inst.app, r.inst.id);
    named.insert(key);
    auto it = local.find(key);
    if (it != local.end() && same_instance(it->second, r)) continue;
    Record out;
    std::string why;
    const std::string what = r.inst.app + "/" + r.inst.id;
    if (catalog_.put(std::move(r), out, why) != Catalog::Result::ok) {
      logger().error("catalog: instances-dir " + dir_ + "/" + name + ".json: " + why);
      reported_[name] = why;
      continue;
    }
    logger().information("admin action user=file:" + name + " action=instance-put app=" + out.inst.app +
                         " id=" + out.inst.id + " version=" + std::to_string(out.version) + " result=ok");
  }
  for (auto it = reported_.begin(); it != reported_.end();)
    it = present.count(it->first) ? std::next(it) : reported_.erase(it);
  for (const auto& [key, rec] : mine) {
    if (named.count(key)) continue;
    Record out;
    std::string why;
    if (catalog_.remove(key.first, key.second, out, why) == Catalog::Result::ok)
      logger().information("admin action user=file action=instance-remove app=" + key.first + " id=" + key.second +
                           " version=" + std::to_string(out.version) + " result=ok");
  }
}

}  // namespace ferry::daemon::catalog
