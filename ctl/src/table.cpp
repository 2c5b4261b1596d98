#include "table.h"

#include <algorithm>
#include <cstdio>

namespace ferryctl {

std::string format_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size(), 0);
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], r[i].size());
  std::string out;
  auto line = [&](const std::vector<std::string>& cells, bool upper) {
    std::string l;
    for (size_t i = 0; i < width.size(); ++i) {
      std::string c = i < cells.size() ? cells[i] : "";
      if (upper) std::transform(c.begin(), c.end(), c.begin(), [](unsigned char ch) { return std::toupper(ch); });
      l += c;
      if (i + 1 < width.size()) l += std::string(width[i] - c.size() + 2, ' ');
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + "\n";
  };
  line(header, true);
  for (const auto& r : rows) line(r, false);
  return out;
}

std::string human_count(double v) {
  char buf[32];
  if (v < 10000) {
    if (v == static_cast<double>(static_cast<long long>(v)))
      std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
    else
      std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
  }
  const char* units = "kMGTP";
  int u = -1;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  std::snprintf(buf, sizeof buf, "%.1f%c", v, units[u]);
  return buf;
}

std::string human_duration(long long s) {
  if (s < 0) s = 0;
  char buf[48];
  if (s >= 86400)
    std::snprintf(buf, sizeof buf, "%lldd%lldh", s / 86400, (s % 86400) / 3600);
  else if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lldh%lldm", s / 3600, (s % 3600) / 60);
  else if (s >= 60)
    std::snprintf(buf, sizeof buf, "%lldm%llds", s / 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%llds", s);
  return buf;
}

std::string human_age_ms(long long ms) {
  if (ms < 0) return "never";
  if (ms < 1000) return std::to_string(ms) + "ms";
  return human_duration(ms / 1000);
}

}  // namespace ferryctl
