#include "front/conn_table.h"

#include "front/login_limiter.h"

namespace ferry::web::front {

std::string client_key(const asio::ip::address& address) {
  return LoginLimiter::client_key(address.to_string());  // one rule for "a client" in the admin
}

std::optional<ConnTable::Id> ConnTable::oldest_waiting(const std::string* key) const {
  for (Id id : waiting_) {
    if (!key) return id;
    auto it = conns_.find(id);
    if (it != conns_.end() && it->second.key == *key) return id;
  }
  return std::nullopt;
}

ConnTable::Admission ConnTable::admit(const std::string& key) {
  Admission a;
  if (count(key) >= per_client_) {
    a.limit = Limit::per_client;
    a.evict = oldest_waiting(&key);
  } else if (conns_.size() >= global_) {
    a.limit = Limit::global;
    a.evict = oldest_waiting(nullptr);
  } else {
    return a;
  }
  if (a.evict)
    remove(*a.evict);
  else
    a.accept = false;
  return a;
}

ConnTable::Id ConnTable::add(const std::string& key) {
  Id id = next_++;
  Entry& e = conns_[id];
  e.key = key;
  e.waiting = true;
  e.pos = waiting_.insert(waiting_.end(), id);
  ++per_key_[key];
  return id;
}

void ConnTable::erase(std::unordered_map<Id, Entry>::iterator it) {
  if (it->second.waiting) waiting_.erase(it->second.pos);
  auto k = per_key_.find(it->second.key);
  if (k != per_key_.end() && --k->second == 0) per_key_.erase(k);
  conns_.erase(it);
}

void ConnTable::remove(Id id) {
  auto it = conns_.find(id);
  if (it != conns_.end()) erase(it);
}

void ConnTable::set_waiting(Id id, bool waiting) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  Entry& e = it->second;
  if (e.waiting) waiting_.erase(e.pos);
  e.waiting = waiting;
  if (waiting) e.pos = waiting_.insert(waiting_.end(), id);
}

size_t ConnTable::count(const std::string& key) const {
  auto it = per_key_.find(key);
  return it == per_key_.end() ? 0 : it->second;
}

}  // namespace ferry::web::front
