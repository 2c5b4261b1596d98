// HostRouter: exact then most-specific-wildcard lookup (see host_router.h).
#include "plan/host_router.h"

#include <string>

namespace ferry::proxy {

namespace {

constexpr size_t kMaxHost = 255;  // longest DNS name; longer hosts use a heap buffer

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Extracts the host part of a Host header / :authority value: "[v6]:port" -> "v6",
// "name:port" -> "name", a bare v6 literal (two or more ':') is kept whole. Sets `v6` for
// IPv6 literals. Returns an empty view for malformed input.
std::string_view host_part(std::string_view h, bool& v6) {
  v6 = false;
  if (!h.empty() && h.front() == '[') {
    const size_t close = h.find(']');
    if (close == std::string_view::npos) return {};
    v6 = true;
    return h.substr(1, close - 1);
  }
  const size_t colon = h.find(':');
  if (colon == std::string_view::npos) return h;
  if (h.find(':', colon + 1) != std::string_view::npos) {
    v6 = true;
    return h;
  }
  return h.substr(0, colon);
}

// Normalised form of a pattern or host name: lower case, brackets and port removed, one
// trailing dot removed (not for v6 literals).
std::string_view normalise(std::string_view raw, char* buf, bool& v6) {
  std::string_view h = host_part(raw, v6);
  if (!v6 && !h.empty() && h.back() == '.') h.remove_suffix(1);
  for (size_t i = 0; i < h.size(); ++i) buf[i] = lower(h[i]);
  return std::string_view(buf, h.size());
}

}  // namespace

void HostRouter::add(std::string_view pattern, int app) {
  std::string buf(pattern.size(), '\0');
  if (pattern.size() >= 2 && pattern[0] == '*' && pattern[1] == '.') {
    bool v6 = false;
    std::string_view suffix = normalise(pattern.substr(1), buf.data(), v6);  // ".example.com"
    if (suffix.size() > 1) wildcard_.try_emplace(std::string(suffix), app);
    return;
  }
  bool v6 = false;
  std::string_view name = normalise(pattern, buf.data(), v6);
  if (!name.empty()) exact_.try_emplace(std::string(name), app);
}

int HostRouter::find(std::string_view host) const {
  char stack[kMaxHost];
  std::string heap;
  char* buf = stack;
  if (host.size() > kMaxHost) {
    heap.resize(host.size());
    buf = heap.data();
  }
  bool v6 = false;
  const std::string_view name = normalise(host, buf, v6);
  if (name.empty()) return -1;
  if (auto it = exact_.find(name); it != exact_.end()) return it->second;
  if (v6 || wildcard_.empty()) return -1;
  // "a.b.example.com": ".b.example.com", ".example.com", ".com" — most specific first. The
  // first label must be non-empty, so the scan starts at position 1.
  for (size_t dot = name.find('.', 1); dot != std::string_view::npos; dot = name.find('.', dot + 1)) {
    if (dot + 1 >= name.size()) break;  // empty last label
    if (auto it = wildcard_.find(name.substr(dot)); it != wildcard_.end()) return it->second;
  }
  return -1;
}

}  // namespace ferry::proxy
