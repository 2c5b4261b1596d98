// The etcd v3 JSON gateway's wire (https://etcd.io/docs/v3.4/dev-guide/api_grpc_gateway/) as the
// catalog's etcd back end uses it: the keys it writes, the request bodies it sends and the
// answers it reads. Keys and values travel base64-encoded; 64-bit integers arrive as JSON
// strings (grpc-gateway) or numbers, both accepted; fields at their zero value are omitted
// (a watch event without "type" is a PUT).
//
// Key layout: PREFIX NODE "/" APP "/" ID, value = the record line (catalog/record.h) without
// its '\n'. Every key of one node is bound to that node's lease.
//
// Pure functions; any thread; no exceptions (a malformed answer is `false` with a reason).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::daemon::catalog::etcd {

std::string instance_key(std::string_view prefix, std::string_view node, std::string_view app, std::string_view id);
// Splits a key under `prefix` into its node, app and id (each a valid name, record.h). False
// for any other key.
bool split_key(std::string_view prefix, std::string_view key, std::string& node, std::string& app, std::string& id);
// A node's acknowledgement key, PREFIX NODE/@applied: the etcd revision up to which that node
// routes with the other nodes' instances (bound to its lease; '@' is no valid name, so no
// instance key can collide). ack_key_node gives NODE for such a key, false for any other.
std::string ack_key(std::string_view prefix, std::string_view node);
bool ack_key_node(std::string_view prefix, std::string_view key, std::string& node);
// The end of the key range holding every key that starts with `prefix` (its last byte + 1).
std::string range_end(std::string_view prefix);

struct Op {  // one operation of a transaction
  std::string key;
  std::string value;  // the record line (a put)
  bool remove = false;
};

std::string auth_body(std::string_view user, std::string_view password);
std::string grant_body(int64_t ttl_seconds);
std::string keepalive_body(int64_t lease);
// Every key under `prefix` (keys_only: only the keys, to find stale ones).
std::string range_body(std::string_view prefix, bool keys_only = false);
// A watch of every key under `prefix` from `start_revision`.
std::string watch_body(std::string_view prefix, int64_t start_revision);
// A transaction that applies `ops` (puts bound to `lease`) unconditionally.
std::string txn_body(const std::vector<Op>& ops, int64_t lease);

struct Kv {
  std::string key, value;
};

bool parse_token(std::string_view body, std::string& token, std::string& error);
bool parse_grant(std::string_view body, int64_t& lease, std::string& error);
// The TTL left; 0 = the lease is gone (expired or revoked).
bool parse_keepalive(std::string_view body, int64_t& ttl, std::string& error);
bool parse_range(std::string_view body, int64_t& revision, std::vector<Kv>& kvs, std::string& error);
// The revision a transaction's answer reports (its writes' revision).
bool parse_txn(std::string_view body, int64_t& revision, std::string& error);

// One message of a watch stream (one line).
struct WatchMessage {
  int64_t revision = 0;         // the header's
  bool created = false;         // the watch was set up
  bool canceled = false;        // the server ended it (compact_revision > 0: compacted away)
  int64_t compact_revision = 0;
  std::string cancel_reason;
  struct Event {
    std::string key, value;  // value empty for a deletion
    bool remove = false;
    int64_t mod_revision = 0;
  };
  std::vector<Event> events;
};
bool parse_watch(std::string_view line, WatchMessage& out, std::string& error);

// The "error" (or "message") member of an error answer, else the body itself (shortened).
std::string error_text(std::string_view body);

}  // namespace ferry::daemon::catalog::etcd
