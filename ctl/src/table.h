// Plain-text tables for ferryctl's human-readable output: columns padded to their widest
// cell, two spaces apart, the header in upper case. Pure.
#pragma once

#include <string>
#include <vector>

namespace ferryctl {

std::string format_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

// "1.5k", "12.3M" style for counters and byte counts; exact below 10000.
std::string human_count(double v);
// "3d4h", "2h5m", "4m10s", "12s" for a duration in seconds.
std::string human_duration(long long seconds);
// An age in milliseconds: "120ms" below a second, else as human_duration ("4m10s");
// "never" when negative (nothing happened yet).
std::string human_age_ms(long long ms);

}  // namespace ferryctl
