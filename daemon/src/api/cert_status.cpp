// certificate_status(): `certificate PATH` and `default-certificate PATH` files are read and
// parsed here (a small PEM read on an admin thread, cached by path, mtime and size so a page
// refresh does not re-read them); `certificate acme` apps take the AcmeManager's status.
#include "api/cert_status.h"

#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "acme/cert_info.h"
#include "services/acme_manager.h"

namespace ferry::daemon {

namespace {

struct FileInfo {
  int64_t mtime_ns = -1;
  int64_t size = -1;
  acme::CertInfo info;
  std::string error;  // unreadable or unparsable: why
};

// Reads `path` unless the cached entry has the same mtime and size. Thread: any (one mutex
// around the cache; the file read happens outside it).
FileInfo file_info(const std::string& path) {
  static std::mutex mu;
  static std::map<std::string, FileInfo> cache;
  struct stat sb {};
  if (::stat(path.c_str(), &sb) != 0) {
    FileInfo f;
    f.error = "cannot read " + path;
    return f;
  }
  const int64_t mtime_ns = static_cast<int64_t>(sb.st_mtim.tv_sec) * 1000000000 + sb.st_mtim.tv_nsec;
  {
    std::lock_guard lk(mu);
    auto it = cache.find(path);
    if (it != cache.end() && it->second.mtime_ns == mtime_ns && it->second.size == sb.st_size) return it->second;
  }
  FileInfo f;
  f.mtime_ns = mtime_ns;
  f.size = sb.st_size;
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) {
    f.error = "cannot read " + path;
  } else if (auto info = acme::inspect_leaf(text.str()); info) {
    f.info = std::move(*info);
  } else {
    f.error = path + ": " + info.error;
  }
  std::lock_guard lk(mu);
  if (cache.size() > 1000) cache.clear();  // bounded: paths come from the configuration only
  cache[path] = f;
  return f;
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

CertStatus from_file(const std::string& path, int64_t now) {
  CertStatus c;
  c.source = "file";
  FileInfo f = file_info(path);
  if (!f.error.empty()) {
    c.state = "error";
    c.last_error = f.error;
    return c;
  }
  c.hosts = f.info.dns_names;
  c.issuer = f.info.issuer;
  c.not_before = f.info.not_before;
  c.not_after = f.info.not_after;
  if (now >= c.not_after) {
    c.state = "expired";
  } else if (now < c.not_before) {
    c.state = "error";
    c.last_error = "not valid yet";
  } else {
    c.state = "valid";
  }
  return c;
}

}  // namespace

std::vector<CertStatus> certificate_status(const ApiContext& ctx) {
  std::vector<CertStatus> out;
  std::shared_ptr<const config::Config> cfg = ctx.status->get().config;
  if (!cfg) return out;
  const int64_t now = unix_now();
  std::map<std::string, acme::AppStatus> acme_status;
  if (ctx.acme) acme_status = ctx.acme->status();
  for (const config::App& app : cfg->apps) {
    if (app.certificate.empty()) continue;
    CertStatus c;
    if (app.certificate == "acme") {
      c.source = "acme";
      c.hosts = app.hosts;
      c.state = "none";
      if (auto it = acme_status.find(app.name); it != acme_status.end()) {
        const acme::AppStatus& s = it->second;
        c.state = s.state;
        c.issuer = s.issuer;
        c.not_before = s.not_before;
        c.not_after = s.not_after;
        c.last_error = s.last_error;
        c.next_renewal = s.next_renewal;
        c.renewal_failures = s.failed_orders;
      }
    } else {
      c = from_file(app.certificate, now);
    }
    c.app = app.name;
    out.push_back(std::move(c));
  }
  for (const config::Frontend& fe : cfg->frontends) {
    if (fe.default_certificate.empty()) continue;
    CertStatus c = from_file(fe.default_certificate, now);
    c.frontend = fe.name;
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace ferry::daemon
