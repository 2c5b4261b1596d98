// Private to web/: the admin listener's TLS context (admin_tls.h describes the settings).
#pragma once

#include <Poco/Net/Context.h>

#include <string>

namespace ferry::web {

// Throws Poco exceptions when the files are unusable.
Poco::Net::Context::Ptr make_tls_context(const std::string& cert, const std::string& key);

}  // namespace ferry::web
