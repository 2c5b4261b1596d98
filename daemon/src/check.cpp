#include "check.h"

#include <iostream>

#include "exit_codes.h"
#include "load_config.h"

namespace ferry::daemon {

void print_diagnostics(std::ostream& out, const config::LoadResult& result) {
  if (result.diagnostics.empty()) return;
  std::string text = config::format(result.diagnostics);
  out << text;
  if (!text.empty() && text.back() != '\n') out << '\n';
  out.flush();
}

std::string count_summary(const config::LoadResult& result) {
  return std::to_string(result.error_count()) + " errors, " +
         std::to_string(result.warning_count()) + " warnings";
}

int run_check(const std::string& path) {
  config::LoadResult result = load_config(path);
  print_diagnostics(std::cerr, result);
  if (result.ok()) {
    std::cout << "Configuration file is valid" << std::endl;
    return kExitOk;
  }
  std::cerr << count_summary(result) << std::endl;
  return kExitConfigInvalid;
}

}  // namespace ferry::daemon
