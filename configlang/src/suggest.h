// "did you mean 'timeout'?" suggestions by Levenshtein distance. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ferry::config::detail {

size_t edit_distance(std::string_view a, std::string_view b);
// The closest candidate within a small distance, or "" when none is close enough.
std::string closest(std::string_view word, const std::vector<std::string>& candidates);
// "; did you mean 'x'?" or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace ferry::config::detail
