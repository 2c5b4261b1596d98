// A minimal, strict JSON reader (RFC 8259) for ACME server responses. Requests are written with
// the project's one JSON writer (ferry/util/json.h), members in a fixed order: the JWS signs the
// exact bytes of the protected header and payload, and the RFC 7638 thumbprint hashes one
// canonical string.
//
// Why not POCO JSON: ferry_control does not link POCO, and this reader is stricter than POCO's
// (see below), as JOSE asks.
//
// Strictness: one value with optional surrounding whitespace; no comments, no trailing commas, no
// leading zeros, no NaN/Infinity; strings must be valid UTF-8 without raw control characters;
// \uXXXX escapes are decoded to UTF-8 (surrogate pairs joined, lone surrogates rejected); duplicate
// object member names are rejected (RFC 7515 §5.2 asks JOSE parsers to reject or pick one; for
// ACME rejecting is safest). Nesting is limited to kMaxJsonDepth, input to max_bytes.
//
// Pure functions and value types; any thread. A JsonValue owns its children.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "acme/result.h"

namespace ferry::acme {

inline constexpr int kMaxJsonDepth = 64;
inline constexpr size_t kDefaultMaxJsonBytes = 1 << 20;  // ACME documents are a few KiB

class JsonValue {
 public:
  using Array = std::vector<JsonValue>;
  using Object = std::vector<std::pair<std::string, JsonValue>>;  // document order, unique names
  struct Null {};
  // A number keeps its source text; as_double() converts it.
  struct Number {
    std::string text;
  };

  JsonValue() = default;  // null
  explicit JsonValue(bool b) : v_(b) {}
  explicit JsonValue(Number n) : v_(std::move(n)) {}
  explicit JsonValue(std::string s) : v_(std::move(s)) {}
  JsonValue(const char*) = delete;  // would silently pick the bool constructor
  explicit JsonValue(Array a) : v_(std::move(a)) {}
  explicit JsonValue(Object o) : v_(std::move(o)) {}

  bool is_null() const { return std::holds_alternative<Null>(v_); }
  bool is_bool() const { return std::holds_alternative<bool>(v_); }
  bool is_number() const { return std::holds_alternative<Number>(v_); }
  bool is_string() const { return std::holds_alternative<std::string>(v_); }
  bool is_array() const { return std::holds_alternative<Array>(v_); }
  bool is_object() const { return std::holds_alternative<Object>(v_); }

  // Accessors return nullptr when the value is of another kind.
  const bool* as_bool() const { return std::get_if<bool>(&v_); }
  const std::string* as_string() const { return std::get_if<std::string>(&v_); }
  const Array* as_array() const { return std::get_if<Array>(&v_); }
  const Object* as_object() const { return std::get_if<Object>(&v_); }
  const Number* as_number() const { return std::get_if<Number>(&v_); }
  double as_double() const;  // 0 when not a number or out of double range

  // Object member by name; nullptr when this is not an object or has no such member.
  const JsonValue* get(std::string_view name) const;
  // Convenience: the member's string, or nullptr if absent or not a string.
  const std::string* get_string(std::string_view name) const;

 private:
  std::variant<Null, bool, Number, std::string, Array, Object> v_;
};

// Parses exactly one JSON text. Error strings name the byte offset.
Result<JsonValue> parse_json(std::string_view text, size_t max_bytes = kDefaultMaxJsonBytes);

}  // namespace ferry::acme
