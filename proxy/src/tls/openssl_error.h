// OpenSSL reports errors on a thread-local queue; this turns it into one message line.
// Any thread (it reads and clears the calling thread's queue only).
#pragma once

#include <string>

namespace ferry::proxy::tls {

// Drains the queue: "error:...:reason; error:...". "unknown OpenSSL error" when it is empty.
std::string drain_openssl_errors();

}  // namespace ferry::proxy::tls
