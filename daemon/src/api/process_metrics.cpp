#include "api/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace ferry::daemon {

namespace {

void gauge_family(std::vector<prometheus::MetricFamily>& out, const char* name, const char* help,
                  prometheus::MetricType type, double value) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) m.counter.value = value;
  else m.gauge.value = value;
  f.metric.push_back(std::move(m));
  out.push_back(std::move(f));
}

// /proc/stat's btime: the boot time in Unix seconds; 0 when unknown.
long long boot_time() {
  std::ifstream in("/proc/stat");
  std::string key;
  long long value = 0;
  while (in >> key) {
    if (key == "btime" && in >> value) return value;
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

int open_fds() {
  DIR* d = opendir("/proc/self/fd");
  if (!d) return -1;
  int n = 0;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n - 1;  // the descriptor of the listing itself
}

}  // namespace

void append_process_metrics(std::vector<prometheus::MetricFamily>& out) {
  using prometheus::MetricType;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  // /proc/self/stat (proc(5)): fields after the parenthesised command name, which may itself
  // contain spaces and parentheses, so parsing starts after the last ')'.
  std::ifstream in("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');
  if (close != std::string::npos && ticks > 0) {
    std::istringstream fields(stat.substr(close + 2));
    // Field 3 (state) is the first here; utime = 14, stime = 15, starttime = 22, vsize = 23,
    // rss = 24.
    std::string f[22];
    int n = 0;
    while (n < 22 && fields >> f[n]) ++n;
    if (n == 22) {
      const double utime = std::stod(f[14 - 3]), stime = std::stod(f[15 - 3]);
      gauge_family(out, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                   MetricType::Counter, (utime + stime) / ticks);
      if (long long btime = boot_time())
        gauge_family(out, "process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                     MetricType::Gauge, static_cast<double>(btime) + std::stod(f[22 - 3]) / ticks);
      gauge_family(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge,
                   std::stod(f[23 - 3]));
      gauge_family(out, "process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge,
                   std::stod(f[24 - 3]) * page);
    }
  }
  if (int fds = open_fds(); fds >= 0)
    gauge_family(out, "process_open_fds", "Number of open file descriptors.", MetricType::Gauge, fds);
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0)
    gauge_family(out, "process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge,
                 lim.rlim_cur == RLIM_INFINITY ? -1.0 : static_cast<double>(lim.rlim_cur));
}

}  // namespace ferry::daemon
