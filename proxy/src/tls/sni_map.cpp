#include "tls/sni_map.h"

#include <cstdio>

namespace ferry::proxy::tls {

namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool name_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'; }

std::string_view strip_trailing_dot(std::string_view s) {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return s;
}

}  // namespace

std::string SniMap::validate(std::string_view raw) {
  std::string_view name = strip_trailing_dot(raw);
  if (name.empty()) return "empty name";
  if (name.size() > kMaxName) return "name longer than 253 characters";
  size_t label_start = 0;
  for (size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      size_t len = i - label_start;
      if (len == 0) return "empty label";
      if (len > kMaxLabel) return "label longer than 63 characters";
      label_start = i + 1;
      continue;
    }
    char c = lower(name[i]);
    if (c == '*') {
      if (i != 0 || name.size() < 3 || name[1] != '.')
        return "wildcard '*' must be the whole leftmost label, followed by a domain";
    } else if (!name_char(c)) {
      // Built in a buffer: g++ 12 -O2 falsely warns (-Warray-bounds) on std::string concatenation here.
      char reason[64];
      std::snprintf(reason, sizeof reason, "invalid character '%c' (allowed: a-z 0-9 - . and a leading *)", name[i]);
      return reason;
    }
  }
  return "";
}

bool SniMap::add(std::string_view raw, int value, std::string& reason) {
  reason = validate(raw);
  if (!reason.empty()) return false;
  std::string key(strip_trailing_dot(raw));
  for (char& c : key) c = lower(c);
  if (!names_.try_emplace(std::move(key), value).second) {
    reason = "duplicate name";
    return false;
  }
  return true;
}

int SniMap::find(std::string_view server_name) const {
  std::string_view in = strip_trailing_dot(server_name);
  if (in.empty() || in.size() > kMaxName) return -1;
  char buf[kMaxName];
  size_t first_dot = std::string_view::npos;
  for (size_t i = 0; i < in.size(); ++i) {
    char c = lower(in[i]);
    if (!name_char(c)) return -1;  // also rejects a literal '*' from the client
    if (c == '.' && first_dot == std::string_view::npos) first_dot = i;
    buf[i] = c;
  }
  std::string_view name(buf, in.size());
  if (auto it = names_.find(name); it != names_.end()) return it->second;
  // One label, or an empty first label: no wildcard applies.
  if (first_dot == std::string_view::npos || first_dot == 0) return -1;
  buf[first_dot - 1] = '*';       // "a.example.com" -> "*.example.com" in place
  std::string_view wild(buf + first_dot - 1, in.size() - first_dot + 1);
  if (auto it = names_.find(wild); it != names_.end()) return it->second;
  return -1;
}

}  // namespace ferry::proxy::tls
