// The admin front's connection accounting: how many connections each client address holds,
// how many there are in all, and which of them are waiting on their client (TLS handshake,
// request head or body, keep-alive idle, writing the response) as opposed to being served by a
// handler. Private to web/.
//
// Admission rule (admit()): a new connection from a client that already holds `per_client`
// connections closes that client's connection that has been waiting the longest; when there are
// `global` connections in all, the one that has been waiting the longest (any client) is
// closed. Only when every candidate is inside a handler is the new connection refused. So a
// slow client can never keep a client that completes its request promptly out, and an attacker
// only churns through its own connections first.
//
// A client is its IPv4 address (also written ::ffff:a.b.c.d), or its IPv6 /64.
//
// Ownership: one per AdminFront. Thread: not thread-safe; the front's event loop only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>

#include <asio/ip/address.hpp>

namespace ferry::web::front {

// "192.0.2.1", "2001:db8:1:2::/64" (the /64 an IPv6 address belongs to): LoginLimiter::client_key,
// the one rule for what counts as one client on the admin listener.
std::string client_key(const asio::ip::address& address);

class ConnTable {
 public:
  using Id = uint64_t;
  enum class Limit { none, per_client, global };

  struct Admission {
    bool accept = true;          // false: every candidate is busy in a handler, refuse
    std::optional<Id> evict;     // close this connection first (already removed from the table)
    Limit limit = Limit::none;   // which cap made the decision (none: under both caps)
  };

  ConnTable(size_t global, size_t per_client) : global_(global), per_client_(per_client) {}

  // Decides on a new connection from `key`; an evicted connection is removed here, so the
  // caller must close it. Does not add the new one (add() does).
  Admission admit(const std::string& key);
  // Adds an accepted connection (waiting); returns its id.
  Id add(const std::string& key);
  // Removes a connection; unknown ids (already evicted) are ignored.
  void remove(Id id);
  // Waiting on the client (true) or inside a handler (false). Becoming waiting again makes it
  // the newest waiting connection.
  void set_waiting(Id id, bool waiting);

  size_t size() const { return conns_.size(); }
  size_t count(const std::string& key) const;
  size_t global_cap() const { return global_; }
  size_t per_client_cap() const { return per_client_; }

 private:
  struct Entry {
    std::string key;
    bool waiting = true;
    std::list<Id>::iterator pos;  // in waiting_ when waiting
  };
  std::optional<Id> oldest_waiting(const std::string* key) const;
  void erase(std::unordered_map<Id, Entry>::iterator it);

  size_t global_, per_client_;
  Id next_ = 1;
  std::unordered_map<Id, Entry> conns_;
  std::unordered_map<std::string, size_t> per_key_;
  std::list<Id> waiting_;  // oldest first
};

}  // namespace ferry::web::front
