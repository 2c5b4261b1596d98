#include "instances.h"

#include <chrono>
#include <iostream>
#include <thread>
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

// --wait: until every mesh peer of this node (with etcd: every other node holding a lease)
// routes with `version` of its catalog (their acknowledgements under catalog.acks), or
// `timeout_s`. 0 when all confirmed, else 1 naming those that did not (an unreachable peer
// takes the change when it returns).
int wait_for_peers(Client& c, const std::string& app, long long version, int timeout_s) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto deadline = t0 + std::chrono::seconds(timeout_s);
  for (;;) {
    auto top = call(c, "GET", kInstances + "?app=" + seg(app)).extract<Poco::JSON::Object::Ptr>();
    auto cat = top ? top->getObject("catalog") : nullptr;
    if (!cat) throw ApiError{"the admin API's answer has no \"catalog\" object"};
    const bool etcd = str(cat, "backend") == "etcd";
    std::vector<std::string> waiting, unreachable;
    size_t confirmed = 0;
    if (auto acks = cat->getArray("acks"))
      for (size_t i = 0; i < acks->size(); ++i) {
        auto a = acks->getObject(static_cast<unsigned>(i));
        if (!a) continue;
        if (static_cast<long long>(num(a, "version")) >= version) ++confirmed;
        else (flag(a, "reachable") ? waiting : unreachable).push_back(str(a, "node"));
      }
    const bool late = std::chrono::steady_clock::now() >= deadline;
    if (waiting.empty() || late) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
      std::cout << "confirmed by " << confirmed << (etcd ? " node" : " mesh peer") << (confirmed == 1 ? "" : "s") << " in "
                << human_age_ms(ms.count()) << "\n";
      auto list = [](const std::vector<std::string>& v) {
        std::string s;
        for (const auto& n : v) s += (s.empty() ? "" : ", ") + n;
        return s;
      };
      if (!waiting.empty())
        std::cerr << "ferryctl: not confirmed within " << timeout_s << "s by: " << list(waiting) << "\n";
      if (!unreachable.empty())
        std::cerr << "ferryctl: unreachable, not confirmed (they take the change when they return): "
                  << list(unreachable) << "\n";
      return waiting.empty() && unreachable.empty() ? 0 : 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
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
  Poco::JSON::Object::Ptr changed;
  if (cmd.verb == "add" || cmd.verb == "update") {
    InstanceRecord base;
    if (cmd.verb == "update") {
      base = hosted_here(c, cmd.app, cmd.id);
    } else {
      base.app = cmd.app;
      base.id = cmd.id;
    }
    auto v = call(c, "POST", kInstances, &raw, instance_body(apply_changes(base, cmd.changes)));
    changed = member(v, "instance");
    if (json) std::cout << raw;
    else std::cout << (cmd.verb == "add" ? "added " : "updated ") << describe(changed) << "\n";
  } else if (cmd.verb == "remove") {
    auto v = call(c, "DELETE", instance_path(cmd.app, cmd.id), &raw);
    changed = member(v, "removed");
    if (json) std::cout << raw;
    else std::cout << "removed " << describe(changed) << "\n";
  } else {
    auto v = call(c, "POST", instance_path(cmd.app, cmd.id) + "/" + cmd.verb, &raw);
    changed = member(v, "instance");
    if (json) std::cout << raw;
    else std::cout << (cmd.verb == "start" ? "started " : "stopped ") << describe(changed) << "\n";
  }
  if (!cmd.wait) return 0;
  return wait_for_peers(c, cmd.app, static_cast<long long>(num(changed, "version")), cmd.timeout_s);
}

}  // namespace ferryctl
