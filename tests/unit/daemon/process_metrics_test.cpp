// The process_* families read from /proc/self (api/process_metrics.cpp).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <map>
#include <string>

#include "api/process_metrics.h"

using namespace ferry::daemon;

TEST_CASE("process metrics: the six standard families with plausible values", "[metrics]") {
  std::vector<prometheus::MetricFamily> fs;
  append_process_metrics(fs);
  std::map<std::string, const prometheus::MetricFamily*> by_name;
  for (const auto& f : fs) {
    REQUIRE(f.metric.size() == 1);
    CHECK(f.metric[0].label.empty());
    CHECK_FALSE(f.help.empty());
    by_name[f.name] = &f;
  }
  REQUIRE(by_name.size() == 6);
  auto gauge = [&](const char* name) {
    REQUIRE(by_name.count(name));
    CHECK(by_name[name]->type == prometheus::MetricType::Gauge);
    return by_name[name]->metric[0].gauge.value;
  };
  REQUIRE(by_name.count("process_cpu_seconds_total"));
  CHECK(by_name["process_cpu_seconds_total"]->type == prometheus::MetricType::Counter);
  CHECK(by_name["process_cpu_seconds_total"]->metric[0].counter.value >= 0);
  const double rss = gauge("process_resident_memory_bytes");
  const double vsize = gauge("process_virtual_memory_bytes");
  CHECK(rss > 1 << 20);
  CHECK(vsize >= rss);
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double start = gauge("process_start_time_seconds");
  CHECK(start <= now + 1);
  CHECK(start > now - 3600);  // this test process started moments ago
  // One more descriptor open: counted.
  const double fds = gauge("process_open_fds");
  CHECK(fds >= 3);
  int extra = dup(0);
  REQUIRE(extra >= 0);
  std::vector<prometheus::MetricFamily> again;
  append_process_metrics(again);
  for (const auto& f : again)
    if (f.name == "process_open_fds") CHECK(f.metric[0].gauge.value == fds + 1);
  close(extra);
  CHECK(gauge("process_max_fds") >= fds);
}
