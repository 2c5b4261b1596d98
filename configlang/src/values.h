// Value parsers for directive arguments. Pure; each returns std::nullopt and sets `why` (a
// message without position) on failure.
//   durations: 0 (bare zero only), 250ms 5s 2m 1h 30d (a unit is required)
//   sizes:     512 16k 1m 1g (k = 1024, case-insensitive)
//   addresses: 1.2.3.4:80 [::1]:80 :80 (IP literals only; port 0..65535)
//   CIDRs:     10.0.0.0/8 ::1/128 (a bare IP means a single host)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ferry/configlang/config.h"

namespace ferry::config::detail {

std::optional<Duration> parse_duration(std::string_view s, std::string& why);
std::optional<uint64_t> parse_size(std::string_view s, std::string& why);
std::optional<int64_t> parse_int(std::string_view s, int64_t lo, int64_t hi, std::string& why);
std::optional<Address> parse_address(std::string_view s, std::string& why);
std::optional<Cidr> parse_cidr(std::string_view s, std::string& why);
bool is_ipv4(const std::string& s);
bool is_ipv6(const std::string& s);
// Validates and lower-cases a host pattern ("example.com", "*.example.com").
std::optional<std::string> parse_host_pattern(std::string_view s, std::string& why);
// "5s", "250ms", "1h", "0" — the shortest exact spelling.
std::string duration_to_string(Duration d);

}  // namespace ferry::config::detail
