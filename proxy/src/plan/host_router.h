// Host -> app lookup for HTTP frontends. Exact names first, then the most specific wildcard
// ("*.example.com" matches any name ending in ".example.com", at any depth).
//
// Ownership: built on the control thread when a plan is created, then immutable; any thread
// may call find(). Lookups are O(number of labels in the host), independent of table size.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ferry::proxy {

class HostRouter {
 public:
  // `pattern` is lower-case ("a.example.com" or "*.example.com"). Later adds of the same
  // pattern are ignored (configlang already rejects conflicts).
  void add(std::string_view pattern, int app);
  // `host` is a raw Host header value or :authority: the port, a trailing dot and case are
  // normalised here; "[v6]:port" literals are handled. Returns the app index or -1.
  int find(std::string_view host) const;
  size_t size() const { return exact_.size() + wildcard_.size(); }

 private:
  // Transparent hash: find() looks up std::string_view keys without building a std::string.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  using Map = std::unordered_map<std::string, int, Hash, std::equal_to<>>;
  Map exact_;     // "a.example.com"
  Map wildcard_;  // ".example.com" for "*.example.com"
};

}  // namespace ferry::proxy
