// ferryctl's calls into the admin API and its readers of the answers: one call = one request
// through Client (client.h), an HTTP error status turned into ApiError with the API's
// {"error": "..."} message, the body parsed with POCO JSON; plus the lenient field readers and
// the URL encoding every command uses. Owned by ferryctl (ctl/); the routes themselves are
// docs/API.md.
#pragma once

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <string>

#include "client.h"

namespace ferryctl {

// The API answered with an error, or with something ferryctl cannot use: printed as
// "ferryctl: MESSAGE", exit 1.
struct ApiError {
  std::string message;
};

// `body` as JSON; ApiError when it is not JSON.
Poco::Dynamic::Var parse(const std::string& body);

// "MESSAGE (HTTP 404)" from an error answer's {"error": MESSAGE}, else "HTTP 404".
std::string error_message(const Reply& r);

// One API call; a status >= 400 becomes an ApiError with the API's message. `body` is sent as
// application/json (methods other than GET/HEAD). `raw` receives the answer's text (for --json).
Poco::Dynamic::Var call(Client& c, const std::string& method, const std::string& path, std::string* raw = nullptr,
                        const std::string& body = "");

// Field readers that never throw: a missing or null member reads as "", 0, false.
std::string str(const Poco::JSON::Object::Ptr& o, const std::string& k);
double num(const Poco::JSON::Object::Ptr& o, const std::string& k);
bool flag(const Poco::JSON::Object::Ptr& o, const std::string& k);
// An array of strings joined with ",".
std::string join(const Poco::JSON::Array::Ptr& a);

// `s` percent-encoded for one path segment or one query value (only unreserved bytes stay).
std::string seg(const std::string& s);

}  // namespace ferryctl
