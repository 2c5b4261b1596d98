// The `ferryctl instance ...` command line and the record it writes: parsing the words after
// `instance` (verb, APP, ID, ADDRESS, --region/--state/--weight/--soft/--hard/--meta), applying
// the changes to a record, and the JSON body of POST /api/v1/instances (docs/API.md,
// "Instances (live catalog)"). Pure: no I/O, no POCO, so tests/ can check it; the requests
// themselves are instances.cpp's. Owned by ferryctl (ctl/).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ferryctl {

// The writable fields of one instance, as POST /api/v1/instances takes them (the API's
// defaults). The daemon adds node, version, changed_ms and local, which are never sent.
struct InstanceRecord {
  std::string app, id, address;
  std::string region;  // "" = the hosting node's region
  std::string state = "started";
  int weight = 1;
  int soft = 0, hard = 0;
  std::map<std::string, std::string> metadata;
};

// What the options ask to change; unset members keep the record's value.
struct InstanceChanges {
  std::optional<std::string> address, region, state;
  std::optional<int> weight, soft, hard;
  std::map<std::string, std::string> metadata;  // keys added or replaced (others are kept)

  bool empty() const {
    return !address && !region && !state && !weight && !soft && !hard && metadata.empty();
  }
};

struct InstanceCommand {
  std::string verb;  // add, update, remove, start, stop
  std::string app, id;
  InstanceChanges changes;  // add and update only
  bool wait = false;        // --wait: until every mesh peer routes with the change
  int timeout_s = 10;       // --timeout SECONDS for --wait (1..3600)
};

// Parses `words`, the command line after "instance" (e.g. {"add", "web", "i1",
// "127.0.0.1:9001", "--weight", "2"}). Options may come anywhere after the verb. Returns "" on
// success, else what is wrong (a usage error).
std::string parse_instance_command(const std::vector<std::string>& words, InstanceCommand& out);

// The record with `c` applied.
InstanceRecord apply_changes(InstanceRecord r, const InstanceChanges& c);

// The body of POST /api/v1/instances for `r`: {"app","id","address","region","state","weight",
// "soft","hard","metadata"} (region omitted when empty).
std::string instance_body(const InstanceRecord& r);

}  // namespace ferryctl
