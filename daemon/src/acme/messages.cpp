#include "acme/messages.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <set>

#include "acme/dns_name.h"
#include "acme/json.h"
#include "ferry/util/base64.h"
#include "ferry/util/json.h"

namespace ferry::acme {

// ---- requests -----------------------------------------------------------------------------

namespace {

bool valid_email(std::string_view e) {
  const size_t at = e.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= e.size() || e.find('@', at + 1) != std::string_view::npos)
    return false;
  for (char c : e)
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == '<' || c == '>' || c == '?') return false;
  return true;
}

}  // namespace

Result<std::string> new_account_payload(const std::vector<std::string>& emails, bool terms_of_service_agreed) {
  using R = Result<std::string>;
  util::JsonWriter w;
  w.begin_object();
  if (!emails.empty()) {
    w.key("contact").begin_array();
    for (const std::string& email : emails) {
      std::string_view e = email;
      if (e.substr(0, 7) == "mailto:") e.remove_prefix(7);
      if (!valid_email(e)) return R::fail("newAccount: invalid contact email '" + email + "'");
      w.value("mailto:" + std::string(e));
    }
    w.end_array();
  }
  w.field("termsOfServiceAgreed", terms_of_service_agreed).end_object();
  return R::ok(w.take());
}

std::string find_account_payload() { return R"({"onlyReturnExisting":true})"; }

Result<std::string> new_order_payload(const std::vector<std::string>& hosts) {
  using R = Result<std::string>;
  if (hosts.empty()) return R::fail("newOrder: no identifiers");
  std::set<std::string_view> seen;
  util::JsonWriter w;
  w.begin_object().key("identifiers").begin_array();
  for (const std::string& host : hosts) {
    if (!is_valid_dns_identifier(host, /*allow_wildcard=*/true))
      return R::fail("newOrder: invalid DNS identifier '" + host + "'");
    if (!seen.insert(host).second) return R::fail("newOrder: duplicate identifier '" + host + "'");
    w.begin_object().field("type", "dns").field("value", host).end_object();
  }
  w.end_array().end_object();
  return R::ok(w.take());
}

std::string finalize_payload(std::string_view csr_der) {
  util::JsonWriter w;
  w.begin_object().field("csr", util::base64url_encode(csr_der)).end_object();
  return w.take();
}

std::string challenge_response_payload() { return "{}"; }

// ---- responses ----------------------------------------------------------------------------

namespace {

// Reads members of one JSON object; the first problem is kept in `error` (prefixed by `what`).
class Reader {
 public:
  Reader(const JsonValue& obj, std::string what) : obj_(obj), what_(std::move(what)) {}

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  bool fail(const std::string& why) {
    if (error_.empty()) error_ = what_ + ": " + why;
    return false;
  }

  bool required(std::string_view name, std::string& out) {
    const JsonValue* v = obj_.get(name);
    if (!v) return fail("missing \"" + std::string(name) + "\"");
    return string_of(name, *v, out);
  }
  // Absent or null leaves `out` unchanged.
  bool optional(std::string_view name, std::string& out) {
    const JsonValue* v = obj_.get(name);
    return !v || v->is_null() || string_of(name, *v, out);
  }
  bool optional(std::string_view name, std::optional<std::string>& out) {
    const JsonValue* v = obj_.get(name);
    if (!v || v->is_null()) return true;
    std::string s;
    if (!string_of(name, *v, s)) return false;
    out = std::move(s);
    return true;
  }
  bool optional(std::string_view name, bool& out) {
    const JsonValue* v = obj_.get(name);
    if (!v || v->is_null()) return true;
    if (!v->is_bool()) return fail("\"" + std::string(name) + "\" is not a boolean");
    out = *v->as_bool();
    return true;
  }
  bool strings(std::string_view name, std::vector<std::string>& out, bool is_required) {
    const JsonValue* v = obj_.get(name);
    if (!v || v->is_null()) return is_required ? fail("missing \"" + std::string(name) + "\"") : true;
    const JsonValue::Array* a = v->as_array();
    if (!a) return fail("\"" + std::string(name) + "\" is not an array");
    for (const auto& item : *a) {
      if (!item.is_string()) return fail("\"" + std::string(name) + "\" has a non-string element");
      out.push_back(*item.as_string());
    }
    return true;
  }
  bool status(std::string& out, std::initializer_list<std::string_view> allowed) {
    if (!required("status", out)) return false;
    if (std::find(allowed.begin(), allowed.end(), out) == allowed.end()) return fail("unknown status \"" + out + "\"");
    return true;
  }
  // The object member `name` (required or not); nullptr if absent (or after a type error).
  const JsonValue* object(std::string_view name, bool is_required) {
    const JsonValue* v = obj_.get(name);
    if (!v || v->is_null()) {
      if (is_required) fail("missing \"" + std::string(name) + "\"");
      return nullptr;
    }
    if (!v->is_object()) {
      fail("\"" + std::string(name) + "\" is not an object");
      return nullptr;
    }
    return v;
  }

 private:
  bool string_of(std::string_view name, const JsonValue& v, std::string& out) {
    if (!v.is_string()) return fail("\"" + std::string(name) + "\" is not a string");
    out = *v.as_string();
    return true;
  }

  const JsonValue& obj_;
  std::string what_;
  std::string error_;
};

Result<JsonValue> parse_object(std::string_view json, const char* what) {
  auto doc = parse_json(json);
  if (!doc) return Result<JsonValue>::fail(std::string(what) + ": " + doc.error);
  if (!doc->is_object()) return Result<JsonValue>::fail(std::string(what) + ": not a JSON object");
  return doc;
}

bool read_identifier(const JsonValue& obj, Identifier& out, std::string& error) {
  Reader r(obj, "identifier");
  r.required("type", out.type) && r.required("value", out.value);
  error = r.error();
  return r.ok();
}

bool read_problem(const JsonValue& obj, Problem& out, std::string& error) {
  Reader r(obj, "problem");
  r.optional("type", out.type) && r.optional("detail", out.detail);
  if (const JsonValue* s = obj.get("status"); s && !s->is_null()) {
    const double d = s->as_double();
    if (!s->is_number() || d != std::floor(d) || d < 100 || d > 599) r.fail("\"status\" is not an HTTP status");
    else out.status = int(d);
  }
  if (const JsonValue* subs = obj.get("subproblems"); r.ok() && subs && !subs->is_null()) {
    static const JsonValue::Array kNone;
    if (!subs->is_array()) r.fail("\"subproblems\" is not an array");
    for (const auto& item : subs->is_array() ? *subs->as_array() : kNone) {
      if (!item.is_object()) {
        r.fail("subproblem is not an object");
        break;
      }
      Problem::Sub sub;
      Reader sr(item, "subproblem");
      sr.optional("type", sub.type) && sr.optional("detail", sub.detail);
      if (const JsonValue* id = sr.object("identifier", false)) {
        Reader ir(*id, "subproblem identifier");
        ir.optional("type", sub.identifier_type) && ir.optional("value", sub.identifier_value);
        if (!ir.ok()) sr.fail(ir.error());
      }
      if (!sr.ok()) {
        r.fail(sr.error());
        break;
      }
      out.subproblems.push_back(std::move(sub));
    }
  }
  error = r.error();
  return r.ok();
}

// An optional "error" member holding a problem document.
bool read_error_member(Reader& r, const JsonValue* err, std::optional<Problem>& out) {
  if (!err) return r.ok();
  Problem p;
  std::string why;
  if (!read_problem(*err, p, why)) return r.fail(why);
  out = std::move(p);
  return true;
}

bool read_challenge(const JsonValue& obj, Challenge& out, std::string& error) {
  Reader r(obj, "challenge");
  r.required("type", out.type) && r.required("url", out.url) &&
      r.status(out.status, {"pending", "processing", "valid", "invalid"}) && r.optional("token", out.token) &&
      r.optional("validated", out.validated);
  if (r.ok() && obj.get("token") && !util::is_base64url_alphabet(out.token)) r.fail("\"token\" is not base64url");
  if (r.ok()) read_error_member(r, r.object("error", false), out.error);
  error = r.error();
  return r.ok();
}

}  // namespace

const Challenge* Authorization::find_challenge(std::string_view type) const {
  for (const auto& c : challenges)
    if (c.type == type) return &c;
  return nullptr;
}

Result<Directory> parse_directory(std::string_view json) {
  using R = Result<Directory>;
  auto doc = parse_object(json, "directory");
  if (!doc) return R::fail(doc.error);
  Directory d;
  Reader r(*doc, "directory");
  r.required("newNonce", d.new_nonce) && r.required("newAccount", d.new_account) &&
      r.required("newOrder", d.new_order) && r.optional("revokeCert", d.revoke_cert) &&
      r.optional("keyChange", d.key_change) && r.optional("renewalInfo", d.renewal_info);
  if (const JsonValue* meta = r.object("meta", false)) {
    Reader m(*meta, "directory meta");
    m.optional("termsOfService", d.terms_of_service) &&
        m.optional("externalAccountRequired", d.external_account_required);
    if (!m.ok()) r.fail(m.error());
  }
  if (!r.ok()) return R::fail(r.error());
  return R::ok(std::move(d));
}

Result<Account> parse_account(std::string_view json) {
  using R = Result<Account>;
  auto doc = parse_object(json, "account");
  if (!doc) return R::fail(doc.error);
  Account a;
  Reader r(*doc, "account");
  r.status(a.status, {"valid", "deactivated", "revoked"}) && r.strings("contact", a.contact, false) &&
      r.optional("orders", a.orders);
  if (!r.ok()) return R::fail(r.error());
  return R::ok(std::move(a));
}

Result<Order> parse_order(std::string_view json) {
  using R = Result<Order>;
  auto doc = parse_object(json, "order");
  if (!doc) return R::fail(doc.error);
  Order o;
  Reader r(*doc, "order");
  r.status(o.status, {"pending", "ready", "processing", "valid", "invalid"}) && r.optional("expires", o.expires) &&
      r.strings("authorizations", o.authorizations, true) && r.required("finalize", o.finalize) &&
      r.optional("certificate", o.certificate);
  if (r.ok()) {
    const JsonValue* ids = doc->get("identifiers");
    if (!ids || !ids->is_array()) {
      r.fail("\"identifiers\" missing or not an array");
    } else {
      for (const auto& item : *ids->as_array()) {
        Identifier id;
        std::string why;
        if (!item.is_object()) {
          r.fail("identifier is not an object");
          break;
        }
        if (!read_identifier(item, id, why)) {
          r.fail(why);
          break;
        }
        o.identifiers.push_back(std::move(id));
      }
    }
  }
  if (r.ok()) read_error_member(r, r.object("error", false), o.error);
  if (!r.ok()) return R::fail(r.error());
  return R::ok(std::move(o));
}

Result<Authorization> parse_authorization(std::string_view json) {
  using R = Result<Authorization>;
  auto doc = parse_object(json, "authorization");
  if (!doc) return R::fail(doc.error);
  Authorization a;
  Reader r(*doc, "authorization");
  r.status(a.status, {"pending", "valid", "invalid", "deactivated", "expired", "revoked"}) &&
      r.optional("expires", a.expires) && r.optional("wildcard", a.wildcard);
  if (r.ok()) {
    if (const JsonValue* id = r.object("identifier", true)) {
      std::string why;
      if (!read_identifier(*id, a.identifier, why)) r.fail(why);
    }
  }
  if (r.ok()) {
    const JsonValue* chals = doc->get("challenges");
    if (!chals || !chals->is_array()) {
      r.fail("\"challenges\" missing or not an array");
    } else {
      for (const auto& item : *chals->as_array()) {
        Challenge c;
        std::string why;
        if (!item.is_object()) {
          r.fail("challenge is not an object");
          break;
        }
        if (!read_challenge(item, c, why)) {
          r.fail(why);
          break;
        }
        a.challenges.push_back(std::move(c));
      }
    }
  }
  if (!r.ok()) return R::fail(r.error());
  return R::ok(std::move(a));
}

Result<Challenge> parse_challenge(std::string_view json) {
  using R = Result<Challenge>;
  auto doc = parse_object(json, "challenge");
  if (!doc) return R::fail(doc.error);
  Challenge c;
  std::string why;
  if (!read_challenge(*doc, c, why)) return R::fail(why);
  return R::ok(std::move(c));
}

Result<Problem> parse_problem(std::string_view json) {
  using R = Result<Problem>;
  auto doc = parse_object(json, "problem");
  if (!doc) return R::fail(doc.error);
  Problem p;
  std::string why;
  if (!read_problem(*doc, p, why)) return R::fail(why);
  return R::ok(std::move(p));
}

}  // namespace ferry::acme
