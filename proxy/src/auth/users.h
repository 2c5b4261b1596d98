// The users a section's `basic-auth` rules accept (`auth-user NAME HASH`), with their password
// hashes parsed once per plan (util/password_hash.h).
//
// Ownership: built with the plan's RuleProgram (rules/program.h) on the control thread; then
// immutable and shared by every worker. Lookups allocate nothing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ferry/configlang/rules.h"
#include "ferry/util/password_hash.h"

namespace ferry::proxy::auth {

struct User {
  std::string name;
  std::string hash_text;    // as configured: part of the verdict cache's key
  util::PasswordHash hash;  // parsed (configlang checked it; a hash that fails here has an
                            // empty `hash` and never matches)
};

struct UserList {
  std::vector<User> users;
  bool empty() const { return users.empty(); }
  // The user named `name` (exact, case-sensitive), or null.
  const User* find(std::string_view name) const;
};

UserList compile_users(const std::vector<config::AuthUser>& users);

}  // namespace ferry::proxy::auth
