// Test helpers for configlang: load a string with a fixed environment and search diagnostics.
#pragma once

#include <map>
#include <string>

#include "ferry/configlang/load.h"

namespace cfgtest {

using namespace ferry::config;

inline LoadOptions env(std::map<std::string, std::string> vars = {}) {
  LoadOptions o;
  auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
  o.getenv = [shared](const char* n) -> const char* {
    auto it = shared->find(n);
    return it == shared->end() ? nullptr : it->second.c_str();
  };
  return o;
}

inline LoadResult load(const std::string& text, std::map<std::string, std::string> vars = {}) {
  return load_string(text, "t.conf", env(std::move(vars)));
}

// The first diagnostic whose message contains `needle`, or nullptr.
inline const Diagnostic* find(const LoadResult& r, const std::string& needle,
                              Diagnostic::Severity sev = Diagnostic::Severity::error) {
  for (const auto& d : r.diagnostics)
    if (d.severity == sev && d.message.find(needle) != std::string::npos) return &d;
  return nullptr;
}

// "line:col" of the first matching diagnostic, or "none".
inline std::string where(const LoadResult& r, const std::string& needle,
                         Diagnostic::Severity sev = Diagnostic::Severity::error) {
  const Diagnostic* d = find(r, needle, sev);
  return d ? std::to_string(d->line) + ":" + std::to_string(d->col) : "none";
}

inline std::string warn_where(const LoadResult& r, const std::string& needle) {
  return where(r, needle, Diagnostic::Severity::warning);
}

// A small valid configuration that gives no warnings; tests append to it.
inline const char* kBase =
    "defaults\n"
    "    timeout client 30s\n"
    "frontend web\n"
    "    bind 127.0.0.1:0\n"
    "    default-app hello\n"
    "backend pool\n"
    "    server s1 127.0.0.1:9001\n"
    "app hello\n"
    "    hosts hello.example.com\n"
    "    backend pool\n";

}  // namespace cfgtest
