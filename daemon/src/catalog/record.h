// One catalog record (docs/CATALOG.md): an instance with its metadata and the version of its
// last change, its checks, and the line format the embedded catalog stores (SQLite) and serves
// to mesh peers:
//
//   i APP ID ADDRESS STATE REGION WEIGHT SOFT HARD VERSION CHANGED_MS [KEY=VALUE ...]\n
//   r APP ID VERSION CHANGED_MS\n                                   (a removal, in deltas)
//
// REGION is "-" for the node's. CHANGED_MS: unix milliseconds of the change at its source (for
// the catalog-lag metric). Names (APP, ID, REGION, KEY) are 1..128 bytes of A-Z a-z 0-9 . _ -;
// VALUE is up to 256 bytes, percent-encoded on the line (every byte outside A-Z a-z 0-9 . _ ~ -
// : / @ +). A line never names a node: a record's node is the peer that served it, so a node
// can only announce instances on itself.
//
// Pure functions; any thread; no exceptions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ferry/proxy/catalog.h"

namespace ferry::daemon::catalog {

struct Record {
  proxy::Instance inst;  // inst.node: the hosting node (set by the reader, not the line)
  std::vector<std::pair<std::string, std::string>> metadata;  // sorted by key, keys unique
  uint64_t version = 0;
  int64_t changed_ms = 0;
};

inline constexpr size_t kMaxMetadata = 32;

bool valid_name(std::string_view s);  // the names rule above
const char* state_name(proxy::InstanceState s);
bool parse_state(std::string_view s, proxy::InstanceState& out);
// "1.2.3.4:80" or "[::1]:80" with a literal IP and a port 1..65535.
bool parse_address(std::string_view s, config::Address& out);

// Checks and normalises a record an operator sent (names, weight 0..256, soft/hard >= 0,
// metadata sorted, keys unique, at most kMaxMetadata). Empty when fine, else the problem.
std::string check(Record& r);

std::string encode(const Record& r);
std::string encode_removal(const Record& r);  // from its app, id, version and changed_ms

// One line without its '\n'. `removal` tells which kind it was. False with `error` when the
// line is malformed (checked as check() does).
bool decode(std::string_view line, Record& out, bool& removal, std::string& error);

}  // namespace ferry::daemon::catalog
