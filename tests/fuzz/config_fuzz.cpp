// libFuzzer target for the config language: any input must load without crashing, hanging or
// throwing. Includes are disabled (the fuzzer must not read the machine's files) and ${VAR}
// resolves from a fixed environment; then the same input as untrusted text (includes allowed
// but confined to no directory, so nothing is read; no environment). Built by scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "ferry/configlang/load.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ferry::config::LoadOptions opts;
  opts.allow_includes = false;
  opts.getenv = [](const char* name) -> const char* {
    if (std::strcmp(name, "HASH") == 0) return "$argon2id$x";
    if (std::strcmp(name, "EMPTY") == 0) return "";
    if (std::strcmp(name, "SPACE") == 0) return "a b";
    return nullptr;
  };
  auto r = ferry::config::load_string(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.conf", opts);
  // Exercise formatting too.
  std::string text = ferry::config::format(r.diagnostics);
  if (r.ok() && r.error_count() != 0) __builtin_trap();
  (void)text;
  // The same text as untrusted (the admin API's validate): placeholders instead of the
  // environment, no file allowed (no base directory), a small diagnostics cap.
  opts.untrusted = true;
  opts.allow_includes = true;
  opts.max_diagnostics = 8;
  auto u = ferry::config::load_string(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.conf", opts);
  if (u.ok() && u.error_count() != 0) __builtin_trap();
  size_t listed = 0;
  for (const auto& d : u.diagnostics) listed += d.severity != ferry::config::Diagnostic::Severity::note;
  if (listed > 8) __builtin_trap();
  text = ferry::config::format(u.diagnostics);
  return 0;
}
