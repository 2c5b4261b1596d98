#include "api.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Parser.h>

#include <cctype>
#include <cstdio>

namespace ferryctl {

Poco::Dynamic::Var parse(const std::string& body) {
  try {
    Poco::JSON::Parser p;
    return p.parse(body);
  } catch (const Poco::Exception& e) {
    throw ApiError{"the admin API answered something that is not JSON: " + e.displayText()};
  }
}

std::string error_message(const Reply& r) {
  try {
    auto v = parse(r.body);
    auto o = v.extract<Poco::JSON::Object::Ptr>();
    if (o && o->has("error")) return o->getValue<std::string>("error") + " (HTTP " + std::to_string(r.status) + ")";
  } catch (...) {
  }
  return "HTTP " + std::to_string(r.status);
}

Poco::Dynamic::Var call(Client& c, const std::string& method, const std::string& path, std::string* raw,
                        const std::string& body) {
  Reply r = c.request(method, path, body);
  if (r.status >= 400) throw ApiError{error_message(r)};
  if (raw) *raw = r.body;
  return parse(r.body);
}

std::string str(const Poco::JSON::Object::Ptr& o, const std::string& k) {
  if (!o || !o->has(k) || o->isNull(k)) return "";
  return o->get(k).convert<std::string>();
}

double num(const Poco::JSON::Object::Ptr& o, const std::string& k) {
  if (!o || !o->has(k) || o->isNull(k)) return 0;
  try {
    return o->get(k).convert<double>();
  } catch (...) {
    return 0;
  }
}

bool flag(const Poco::JSON::Object::Ptr& o, const std::string& k) {
  if (!o || !o->has(k)) return false;
  try {
    return o->get(k).convert<bool>();
  } catch (...) {
    return false;
  }
}

std::string join(const Poco::JSON::Array::Ptr& a) {
  std::string out;
  if (a)
    for (size_t i = 0; i < a->size(); ++i) out += (out.empty() ? "" : ",") + a->get(i).convert<std::string>();
  return out;
}

std::string seg(const std::string& s) {
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", ch);
      out += buf;
    }
  }
  return out;
}

}  // namespace ferryctl
