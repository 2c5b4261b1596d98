// libFuzzer target for the config language: any input must load without crashing, hanging or
// throwing. Includes are disabled (the fuzzer must not read the machine's files) and ${VAR}
// resolves from a fixed environment. Built by scripts/fuzz.sh.
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
  return 0;
}
