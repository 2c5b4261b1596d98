#include "store/hosts_json.h"

#include "ferry/util/json.h"

namespace ferry::store {

std::string encode_hosts(const std::vector<std::string>& hosts) {
  util::JsonWriter w;
  w.begin_array();
  for (const std::string& h : hosts) w.value(h);
  w.end_array();
  return w.take();
}

Status HostsDecoder::prepare(Db& db) {
  // json_each fails on malformed JSON; the type check rejects non-arrays and non-string items.
  return db.prepare(
      "SELECT json_type(?1) = 'array', type, value FROM json_each(?1) ORDER BY key", stmt_);
}

Status HostsDecoder::decode(std::string_view json, std::vector<std::string>& out) {
  stmt_.reset();
  stmt_.bind(1, json);
  std::vector<std::string> hosts;
  bool row = false;
  Status s = stmt_.step(row);
  for (; s && row; s = stmt_.step(row)) {
    if (stmt_.column_int64(0) != 1 || stmt_.column_text(1) != "text")
      return Status::failure("hosts is not a JSON array of strings: " + std::string(json.substr(0, 200)));
    hosts.push_back(stmt_.column_text(2));
  }
  if (s) out = std::move(hosts);
  return s;
}

}  // namespace ferry::store
