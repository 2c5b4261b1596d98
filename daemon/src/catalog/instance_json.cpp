#include "catalog/instance_json.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

namespace ferry::daemon::catalog {

namespace {

// An integer member in range, or `fallback` when absent. False (with `error`) when present but not one.
bool int_member(const Poco::JSON::Object& o, const char* name, int lo, int hi, int& out, std::string& error) {
  if (!o.has(name)) return true;
  Poco::Dynamic::Var v = o.get(name);
  if (!v.isInteger()) return error = std::string("'") + name + "' must be an integer", false;
  const int64_t n = v.convert<int64_t>();
  if (n < lo || n > hi)
    return error = std::string("'") + name + "' must be " + std::to_string(lo) + ".." + std::to_string(hi), false;
  out = static_cast<int>(n);
  return true;
}

bool string_member(const Poco::JSON::Object& o, const char* name, bool required, std::string& out, std::string& error) {
  if (!o.has(name)) {
    if (required) error = std::string("missing '") + name + "'";
    return !required;
  }
  Poco::Dynamic::Var v = o.get(name);
  if (!v.isString()) return error = std::string("'") + name + "' must be a string", false;
  out = v.convert<std::string>();
  return true;
}

}  // namespace

bool parse_instance(const std::string& body, Record& r, std::string& error, const std::string& default_id) {
  Poco::JSON::Object::Ptr o;
  try {
    Poco::JSON::Parser parser;
    Poco::Dynamic::Var v = parser.parse(body);
    o = v.extract<Poco::JSON::Object::Ptr>();
  } catch (const std::exception&) {
    return error = "the body must be a JSON object", false;
  }
  if (!o) return error = "the body must be a JSON object", false;
  std::string address, state = "started";
  proxy::Instance& in = r.inst;
  if (!string_member(*o, "app", true, in.app, error) || !string_member(*o, "id", default_id.empty(), in.id, error) ||
      !string_member(*o, "address", true, address, error) || !string_member(*o, "region", false, in.region, error) ||
      !string_member(*o, "state", false, state, error))
    return false;
  if (in.id.empty()) in.id = default_id;
  if (!parse_address(address, in.addr))
    return error = "invalid address '" + address.substr(0, 100) + "' (IP:PORT, [IPv6]:PORT)", false;
  if (!parse_state(state, in.state))
    return error = "invalid state '" + state.substr(0, 40) + "' (starting, started, stopping, stopped)", false;
  if (!int_member(*o, "weight", 0, 256, in.weight, error) || !int_member(*o, "soft", 0, 1'000'000, in.soft, error) ||
      !int_member(*o, "hard", 0, 1'000'000, in.hard, error))
    return false;
  if (o->has("metadata")) {
    Poco::JSON::Object::Ptr m;
    try {
      m = o->getObject("metadata");
    } catch (const std::exception&) {
    }
    if (!m) return error = "'metadata' must be an object of strings", false;
    for (const auto& [k, v] : *m) {
      if (!v.isString()) return error = "metadata '" + k.substr(0, 64) + "' must be a string", false;
      r.metadata.emplace_back(k, v.convert<std::string>());
    }
  }
  return true;
}

}  // namespace ferry::daemon::catalog
