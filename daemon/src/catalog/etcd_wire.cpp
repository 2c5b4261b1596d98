#include "catalog/etcd_wire.h"

#include "acme/json.h"
#include "catalog/record.h"
#include "ferry/util/base64.h"
#include "ferry/util/json.h"
#include "ferry/util/number.h"

namespace ferry::daemon::catalog::etcd {

namespace {

using acme::JsonValue;

constexpr size_t kMaxAnswer = size_t(256) << 20;  // a full range of a large fleet

std::string b64(std::string_view s) { return util::base64_encode(s); }

bool unb64(const JsonValue* v, std::string& out) {
  if (v == nullptr) return out.clear(), true;  // an omitted bytes field is empty
  const std::string* s = v->as_string();
  return s && util::base64_decode_into(*s, out, util::Base64Alphabet::standard, util::Base64Padding::optional);
}

// An int64 field: a JSON string of digits (grpc-gateway) or a number; omitted = 0.
bool int_of(const JsonValue* v, int64_t& out) {
  out = 0;
  if (v == nullptr) return true;
  std::string_view t;
  if (const std::string* s = v->as_string()) t = *s;
  else if (const JsonValue::Number* n = v->as_number()) t = n->text;
  else return false;
  return util::parse_whole(t, out);
}

bool parse(std::string_view body, JsonValue& out, std::string& error) {
  auto r = acme::parse_json(body, kMaxAnswer);
  if (!r) {
    error = "etcd answered malformed JSON: " + r.error;
    return false;
  }
  out = std::move(*r);
  if (!out.is_object()) {
    error = "etcd answered JSON that is not an object";
    return false;
  }
  if (const JsonValue* e = out.get("error")) {
    error = "etcd: " + (e->as_string() ? *e->as_string() : std::string("error"));
    return false;
  }
  return true;
}

}  // namespace

std::string instance_key(std::string_view prefix, std::string_view node, std::string_view app, std::string_view id) {
  std::string k(prefix);
  k.append(node).append(1, '/').append(app).append(1, '/').append(id);
  return k;
}

bool split_key(std::string_view prefix, std::string_view key, std::string& node, std::string& app, std::string& id) {
  if (key.substr(0, prefix.size()) != prefix) return false;
  key.remove_prefix(prefix.size());
  const size_t a = key.find('/');
  if (a == std::string_view::npos) return false;
  const size_t b = key.find('/', a + 1);
  if (b == std::string_view::npos) return false;
  node = key.substr(0, a);
  app = key.substr(a + 1, b - a - 1);
  id = key.substr(b + 1);
  return valid_name(node) && valid_name(app) && valid_name(id);
}

std::string ack_key(std::string_view prefix, std::string_view node) {
  return std::string(prefix) + std::string(node) + "/@applied";
}

bool ack_key_node(std::string_view prefix, std::string_view key, std::string& node) {
  constexpr std::string_view kSuffix = "/@applied";
  if (!key.starts_with(prefix) || !key.ends_with(kSuffix) || key.size() <= prefix.size() + kSuffix.size()) return false;
  node = key.substr(prefix.size(), key.size() - prefix.size() - kSuffix.size());
  return valid_name(node);
}

std::string range_end(std::string_view prefix) {
  std::string e(prefix);
  while (!e.empty() && static_cast<unsigned char>(e.back()) == 0xff) e.pop_back();
  if (e.empty()) return std::string(1, '\0');  // every key
  e.back() = static_cast<char>(static_cast<unsigned char>(e.back()) + 1);
  return e;
}

std::string auth_body(std::string_view user, std::string_view password) {
  util::JsonWriter w;
  w.begin_object().field("name", user).field("password", password).end_object();
  return w.take();
}

std::string grant_body(int64_t ttl_seconds) {
  util::JsonWriter w;
  w.begin_object().field("TTL", std::to_string(ttl_seconds)).end_object();
  return w.take();
}

std::string keepalive_body(int64_t lease) {
  util::JsonWriter w;
  w.begin_object().field("ID", std::to_string(lease)).end_object();
  return w.take();
}

std::string range_body(std::string_view prefix, bool keys_only) {
  util::JsonWriter w;
  w.begin_object().field("key", b64(prefix)).field("range_end", b64(range_end(prefix)));
  if (keys_only) w.field("keys_only", true);
  w.end_object();
  return w.take();
}

std::string watch_body(std::string_view prefix, int64_t start_revision) {
  util::JsonWriter w;
  w.begin_object().key("create_request").begin_object();
  w.field("key", b64(prefix)).field("range_end", b64(range_end(prefix)));
  w.field("start_revision", std::to_string(start_revision));
  w.end_object().end_object();
  return w.take();
}

std::string txn_body(const std::vector<Op>& ops, int64_t lease) {
  util::JsonWriter w;
  w.begin_object().key("success").begin_array();
  for (const Op& op : ops) {
    w.begin_object();
    if (op.remove) {
      w.key("request_delete_range").begin_object().field("key", b64(op.key)).end_object();
    } else {
      w.key("request_put").begin_object().field("key", b64(op.key)).field("value", b64(op.value));
      if (lease != 0) w.field("lease", std::to_string(lease));
      w.end_object();
    }
    w.end_object();
  }
  w.end_array().end_object();
  return w.take();
}

bool parse_token(std::string_view body, std::string& token, std::string& error) {
  JsonValue v;
  if (!parse(body, v, error)) return false;
  const std::string* t = v.get_string("token");
  if (t == nullptr || t->empty()) return error = "etcd's authenticate answer has no token", false;
  token = *t;
  return true;
}

bool parse_grant(std::string_view body, int64_t& lease, std::string& error) {
  JsonValue v;
  if (!parse(body, v, error)) return false;
  if (!int_of(v.get("ID"), lease) || lease == 0) return error = "etcd's lease grant answer has no ID", false;
  return true;
}

bool parse_keepalive(std::string_view body, int64_t& ttl, std::string& error) {
  JsonValue v;
  if (!parse(body, v, error)) return false;
  const JsonValue* r = v.get("result");
  if (r == nullptr || !r->is_object()) return error = "etcd's keepalive answer has no result", false;
  if (!int_of(r->get("TTL"), ttl)) return error = "etcd's keepalive answer has a bad TTL", false;
  return true;
}

bool parse_range(std::string_view body, int64_t& revision, std::vector<Kv>& kvs, std::string& error) {
  JsonValue v;
  if (!parse(body, v, error)) return false;
  const JsonValue* h = v.get("header");
  if (h == nullptr || !int_of(h->get("revision"), revision) || revision <= 0)
    return error = "etcd's range answer has no revision", false;
  kvs.clear();
  const JsonValue* list = v.get("kvs");
  if (list == nullptr) return true;
  const JsonValue::Array* a = list->as_array();
  if (a == nullptr) return error = "etcd's range answer has a bad kvs", false;
  for (const JsonValue& kv : *a) {
    Kv out;
    if (!unb64(kv.get("key"), out.key) || !unb64(kv.get("value"), out.value))
      return error = "etcd's range answer has a key or value that is not base64", false;
    kvs.push_back(std::move(out));
  }
  return true;
}

bool parse_txn(std::string_view body, int64_t& revision, std::string& error) {
  JsonValue v;
  if (!parse(body, v, error)) return false;
  const JsonValue* h = v.get("header");
  if (h == nullptr || !int_of(h->get("revision"), revision) || revision <= 0)
    return error = "etcd's transaction answer has no revision", false;
  return true;
}

bool parse_watch(std::string_view line, WatchMessage& out, std::string& error) {
  out = WatchMessage{};
  JsonValue v;
  if (!parse(line, v, error)) return false;
  const JsonValue* r = v.get("result");
  if (r == nullptr || !r->is_object()) return error = "etcd's watch message has no result", false;
  if (const JsonValue* h = r->get("header"); h && !int_of(h->get("revision"), out.revision))
    return error = "etcd's watch message has a bad revision", false;
  const bool* created = r->get("created") ? r->get("created")->as_bool() : nullptr;
  const bool* canceled = r->get("canceled") ? r->get("canceled")->as_bool() : nullptr;
  out.created = created && *created;
  out.canceled = canceled && *canceled;
  if (!int_of(r->get("compact_revision"), out.compact_revision))
    return error = "etcd's watch message has a bad compact_revision", false;
  if (const std::string* why = r->get_string("cancel_reason")) out.cancel_reason = *why;
  if (const JsonValue* evs = r->get("events")) {
    const JsonValue::Array* a = evs->as_array();
    if (a == nullptr) return error = "etcd's watch message has bad events", false;
    for (const JsonValue& e : *a) {
      WatchMessage::Event ev;
      const std::string* type = e.get_string("type");
      ev.remove = type && *type == "DELETE";
      if (type && !ev.remove && *type != "PUT") return error = "etcd's watch event has type " + *type, false;
      const JsonValue* kv = e.get("kv");
      if (kv == nullptr || !unb64(kv->get("key"), ev.key) || !unb64(kv->get("value"), ev.value) ||
          !int_of(kv->get("mod_revision"), ev.mod_revision))
        return error = "etcd's watch event has a bad kv", false;
      out.events.push_back(std::move(ev));
    }
  }
  return true;
}

std::string error_text(std::string_view body) {
  auto r = acme::parse_json(body, 1 << 16);
  if (r && r->is_object()) {
    if (const std::string* e = r->get_string("error")) return *e;
    if (const std::string* m = r->get_string("message")) return *m;
  }
  std::string s(body.substr(0, 200));
  for (char& c : s)
    if (c < ' ' || c > '~') c = ' ';
  return s;
}

}  // namespace ferry::daemon::catalog::etcd
