// Host lists as the store keeps them in its `hosts` columns: a JSON array of strings, e.g.
// ["example.com","*.example.com"] (see the schema in store/migrations.cpp).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "store/sqlite.h"

namespace ferry::store {

// Pure; any thread. Written by util::JsonWriter (the project's one JSON writer).
std::string encode_hosts(const std::vector<std::string>& hosts);

// Decodes with SQLite's json_each(), the same JSON reader that checks the column, so the two
// cannot disagree. Holds one prepared statement of `db`: same thread and lifetime rules as Stmt.
class HostsDecoder {
 public:
  Status prepare(Db& db);
  // Replaces `out` with the array's strings; fails, leaving `out` untouched, when `json` is
  // not a JSON array of strings.
  Status decode(std::string_view json, std::vector<std::string>& out);

 private:
  Stmt stmt_;
};

}  // namespace ferry::store
