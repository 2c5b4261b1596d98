#include "auth/users.h"

namespace ferry::proxy::auth {

const User* UserList::find(std::string_view name) const {
  for (const auto& u : users)
    if (u.name == name) return &u;
  return nullptr;
}

UserList compile_users(const std::vector<config::AuthUser>& users) {
  UserList out;
  out.users.reserve(users.size());
  for (const auto& u : users) {
    std::string why;
    auto parsed = util::parse_password_hash(u.password_hash, why);
    out.users.push_back({u.name, u.password_hash, parsed ? std::move(*parsed) : util::PasswordHash{}});
  }
  return out;
}

}  // namespace ferry::proxy::auth
