// Result<T>: a value or an error string, for the ACME building blocks (no exceptions).
// A plain value type; no thread affinity.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace ferry::acme {

template <class T>
struct Result {
  std::optional<T> value;  // engaged on success
  std::string error;       // human-readable reason when !value; empty on success

  static Result ok(T v) { return Result{std::optional<T>(std::move(v)), {}}; }
  static Result fail(std::string why) { return Result{std::nullopt, std::move(why)}; }

  explicit operator bool() const { return value.has_value(); }
  T& operator*() { return *value; }
  const T& operator*() const { return *value; }
  T* operator->() { return &*value; }
  const T* operator->() const { return &*value; }
};

}  // namespace ferry::acme
