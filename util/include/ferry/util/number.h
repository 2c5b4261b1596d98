// Whole-string integer parsing: the one rule every text format of ours uses (catalog records
// and feeds, load reports, etcd answers, config and command-line values). Decimal digits only
// (a leading '-' for signed types), the whole of `s`, no blanks; empty or out of range: false.
//
// Header-only; any thread; no exceptions.
#pragma once

#include <charconv>
#include <string_view>
#include <system_error>

namespace ferry::util {

template <class T>
bool parse_whole(std::string_view s, T& v) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace ferry::util
