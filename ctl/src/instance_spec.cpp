#include "instance_spec.h"

#include "ferry/util/json.h"
#include "ferry/util/number.h"

namespace ferryctl {
namespace {

// An integer in [lo, hi] from the whole of `s`.
std::optional<int> integer(const std::string& s, int lo, int hi) {
  int v = 0;
  if (!ferry::util::parse_whole(s, v) || v < lo || v > hi) return std::nullopt;
  return v;
}

bool known_state(const std::string& s) {
  return s == "starting" || s == "started" || s == "stopping" || s == "stopped";
}

// Reads one option at words[i] (its value at words[i + 1]) into `c`; "" or the error.
std::string option(const std::vector<std::string>& words, size_t& i, InstanceChanges& c) {
  const std::string& name = words[i];
  if (name != "--region" && name != "--state" && name != "--weight" && name != "--soft" && name != "--hard" &&
      name != "--meta")
    return "unknown option " + name;
  if (i + 1 >= words.size()) return name + " needs a value";
  const std::string& v = words[++i];
  if (name == "--region") {
    c.region = v;
  } else if (name == "--state") {
    if (!known_state(v)) return "--state must be starting, started, stopping or stopped, not '" + v + "'";
    c.state = v;
  } else if (name == "--weight") {
    if (!(c.weight = integer(v, 0, 256))) return "--weight must be an integer from 0 to 256, not '" + v + "'";
  } else if (name == "--soft" || name == "--hard") {
    auto n = integer(v, 0, 1 << 30);
    if (!n) return name + " must be an integer >= 0, not '" + v + "'";
    (name == "--soft" ? c.soft : c.hard) = n;
  } else {
    auto eq = v.find('=');
    if (eq == std::string::npos || eq == 0) return "--meta needs KEY=VALUE, not '" + v + "'";
    c.metadata[v.substr(0, eq)] = v.substr(eq + 1);
  }
  return "";
}

}  // namespace

std::string parse_instance_command(const std::vector<std::string>& words, InstanceCommand& out) {
  out = InstanceCommand{};
  if (words.empty()) return "instance needs add, update, remove, start or stop";
  out.verb = words[0];
  bool edits = out.verb == "add" || out.verb == "update";
  if (!edits && out.verb != "remove" && out.verb != "start" && out.verb != "stop")
    return "unknown instance command " + out.verb + " (add, update, remove, start, stop)";
  std::vector<std::string> pos;
  for (size_t i = 1; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w == "--wait") {
      out.wait = true;
    } else if (w == "--timeout") {
      if (i + 1 >= words.size()) return "--timeout needs a value (seconds)";
      auto n = integer(words[++i], 1, 3600);
      if (!n) return "--timeout must be a number of seconds from 1 to 3600, not '" + words[i] + "'";
      out.timeout_s = *n;
    } else if (w.size() > 1 && w[0] == '-') {
      if (!edits) return "instance " + out.verb + " takes no options but --wait and --timeout (" + w + ")";
      if (std::string err = option(words, i, out.changes); !err.empty()) return err;
    } else {
      pos.push_back(w);
    }
  }
  size_t min = out.verb == "add" ? 3 : 2, max = edits ? 3 : 2;
  if (pos.size() < min || pos.size() > max) {
    std::string want = out.verb == "add" ? "APP ID ADDRESS" : out.verb == "update" ? "APP ID [ADDRESS]" : "APP ID";
    return "wrong number of arguments for instance " + out.verb + " (" + want + ")";
  }
  if (pos[0].empty() || pos[1].empty()) return "APP and ID must not be empty";
  out.app = pos[0];
  out.id = pos[1];
  if (pos.size() == 3) {
    if (pos[2].empty()) return "ADDRESS must not be empty";
    out.changes.address = pos[2];
  }
  if (out.verb == "update" && out.changes.empty()) return "instance update needs ADDRESS or an option to change";
  return "";
}

InstanceRecord apply_changes(InstanceRecord r, const InstanceChanges& c) {
  if (c.address) r.address = *c.address;
  if (c.region) r.region = *c.region;
  if (c.state) r.state = *c.state;
  if (c.weight) r.weight = *c.weight;
  if (c.soft) r.soft = *c.soft;
  if (c.hard) r.hard = *c.hard;
  for (const auto& [k, v] : c.metadata) r.metadata[k] = v;
  return r;
}

std::string instance_body(const InstanceRecord& r) {
  ferry::util::JsonWriter w;
  w.begin_object().field("app", r.app).field("id", r.id).field("address", r.address);
  if (!r.region.empty()) w.field("region", r.region);
  w.field("state", r.state).field("weight", r.weight).field("soft", r.soft).field("hard", r.hard);
  w.key("metadata").begin_object();
  for (const auto& [k, v] : r.metadata) w.field(k, v);
  w.end_object().end_object();
  return w.take();
}

}  // namespace ferryctl
