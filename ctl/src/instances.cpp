#include "instances.h"

#include <iostream>
#include <vector>

#include "api.h"
#include "table.h"

namespace ferryctl {
namespace {

const std::string kInstances = "/api/v1/instances";

std::string instance_path(const std::string& app, const std::string& id) {
  return kInstances + "/" + seg(app) + "/" + seg(id);
}

// The writable fields of an instance object of the API.
InstanceRecord record_from(const Poco::JSON::Object::Ptr& o) {
  InstanceRecord r;
  r.app = str(o, "app");
  r.id = str(o, "id");
  r.address = str(o, "address");
  r.region = str(o, "region");
  if (!str(o, "state").empty()) r.state = str(o, "state");
  r.weight = static_cast<int>(num(o, "weight"));
  r.soft = static_cast<int>(num(o, "soft"));
  r.hard = static_cast<int>(num(o, "hard"));
  if (auto m = o->getObject("metadata"))
    for (const auto& k : m->getNames()) r.metadata[k] = str(m, k);
  return r;
}

// The object under `key` ("instance", "removed") of an answer.
Poco::JSON::Object::Ptr member(const Poco::Dynamic::Var& answer, const std::string& key) {
  auto top = answer.extract<Poco::JSON::Object::Ptr>();
  auto o = top ? top->getObject(key) : nullptr;
  if (!o) throw ApiError{"the admin API's answer has no \"" + key + "\" object"};
  return o;
}

// "web/i1 127.0.0.1:9001 started, weight 1 (version 5)" for the confirmation lines.
std::string describe(const Poco::JSON::Object::Ptr& o) {
  return str(o, "app") + "/" + str(o, "id") + " " + str(o, "address") + " " + str(o, "state") + ", weight " +
         str(o, "weight") + " (version " + str(o, "version") + ")";
}

// The instance APP/ID this node hosts, from GET /api/v1/instances?app=APP.
InstanceRecord hosted_here(Client& c, const std::string& app, const std::string& id) {
  auto top = call(c, "GET", kInstances + "?app=" + seg(app)).extract<Poco::JSON::Object::Ptr>();
  auto arr = top ? top->getArray("instances") : nullptr;
  std::string elsewhere;
  for (size_t i = 0; arr && i < arr->size(); ++i) {
    auto x = arr->getObject(static_cast<unsigned>(i));
    if (!x || str(x, "app") != app || str(x, "id") != id) continue;
    if (flag(x, "local")) return record_from(x);
    elsewhere = str(x, "node");
  }
  if (!elsewhere.empty())
    throw ApiError{"instance " + app + "/" + id + " is hosted by node " + elsewhere + "; change it there"};
  throw ApiError{"no instance " + app + "/" + id + " on this node"};
}

}  // namespace

int cmd_instances(Client& c, const std::string& app, bool json) {
  std::string raw;
  auto v = call(c, "GET", kInstances + (app.empty() ? "" : "?app=" + seg(app)), &raw);
  if (json) return std::cout << raw, 0;
  auto top = v.extract<Poco::JSON::Object::Ptr>();
  if (!top) throw ApiError{"the admin API's answer is not an object"};
  std::vector<std::vector<std::string>> rows;
  if (auto arr = top->getArray("instances"))
    for (size_t i = 0; i < arr->size(); ++i) {
      auto x = arr->getObject(static_cast<unsigned>(i));
      rows.push_back({str(x, "app"), str(x, "id"), str(x, "address"), str(x, "node"), str(x, "region"),
                      str(x, "state"), str(x, "weight"), str(x, "version")});
    }
  std::cout << format_table({"app", "id", "address", "node", "region", "state", "weight", "version"}, rows);
  auto cat = top->getObject("catalog");
  if (!cat) return 0;
  std::cout << "catalog on " << str(top, "node") << ": backend " << str(cat, "backend") << ", epoch " << str(cat, "epoch")
            << ", version " << str(cat, "version") << "\n";
  if (auto peers = cat->getArray("peers"))
    for (size_t i = 0; i < peers->size(); ++i) {
      auto p = peers->getObject(static_cast<unsigned>(i));
      bool synced = p && p->has("last_sync_age_ms") && !p->isNull("last_sync_age_ms");
      long long age = synced ? static_cast<long long>(num(p, "last_sync_age_ms")) : -1;
      std::cout << "peer " << str(p, "node") << ": version " << str(p, "version") << ", " << str(p, "instances")
                << " instances, last sync " << human_age_ms(age) << (age >= 0 ? " ago" : "")
                << (flag(p, "stale") ? ", STALE" : "");
      if (num(p, "sync_errors") > 0) std::cout << ", " << str(p, "sync_errors") << " sync errors";
      std::cout << "\n";
    }
  return 0;
}

int cmd_instance(Client& c, const InstanceCommand& cmd, bool json) {
  std::string raw;
  if (cmd.verb == "add" || cmd.verb == "update") {
    InstanceRecord base;
    if (cmd.verb == "update") {
      base = hosted_here(c, cmd.app, cmd.id);
    } else {
      base.app = cmd.app;
      base.id = cmd.id;
    }
    auto v = call(c, "POST", kInstances, &raw, instance_body(apply_changes(base, cmd.changes)));
    if (json) return std::cout << raw, 0;
    std::cout << (cmd.verb == "add" ? "added " : "updated ") << describe(member(v, "instance")) << "\n";
  } else if (cmd.verb == "remove") {
    auto v = call(c, "DELETE", instance_path(cmd.app, cmd.id), &raw);
    if (json) return std::cout << raw, 0;
    std::cout << "removed " << describe(member(v, "removed")) << "\n";
  } else {
    auto v = call(c, "POST", instance_path(cmd.app, cmd.id) + "/" + cmd.verb, &raw);
    if (json) return std::cout << raw, 0;
    std::cout << (cmd.verb == "start" ? "started " : "stopped ") << describe(member(v, "instance")) << "\n";
  }
  return 0;
}

}  // namespace ferryctl
