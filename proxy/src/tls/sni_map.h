// Server name (SNI) -> value lookup for choosing a certificate: exact names first, then a
// one-label wildcard. Per RFC 6125 6.4.3, "*.example.com" matches "a.example.com" but neither
// "example.com" nor "a.b.example.com". Names are case-insensitive (stored lower-case).
//
// The value is an index into the caller's vector of contexts (or any int it likes).
//
// Ownership and threads: built on the control thread, then immutable; any number of worker
// threads may call find() concurrently. find() does not allocate and costs at most two hash
// lookups, whatever the number of names.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ferry::proxy::tls {

class SniMap {
 public:
  static constexpr size_t kMaxName = 253;
  static constexpr size_t kMaxLabel = 63;

  // Adds `name` ("a.example.com" or "*.example.com"; any case; one trailing dot allowed).
  // Returns false with the reason in `reason` when the name is invalid or already present
  // (the first value added for a name stays).
  bool add(std::string_view name, int value, std::string& reason);
  // `server_name` as sent by the client, any case. Returns the value or -1.
  int find(std::string_view server_name) const;
  size_t size() const { return names_.size(); }

  // "" when `name` may be added, else why not. Checks syntax only, not duplicates.
  static std::string validate(std::string_view name);

 private:
  // Transparent hash: find() looks up std::string_view keys without building a std::string.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  // One table: wildcards are stored as written ("*.example.com"); the '*' cannot occur in
  // a server name that reaches the lookup, so they never collide with exact names.
  std::unordered_map<std::string, int, Hash, std::equal_to<>> names_;
};

}  // namespace ferry::proxy::tls
