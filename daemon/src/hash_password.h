// `ferryd --hash-password`: reads a password from stdin and prints the line to put in
// `admin-user NAME HASH` (scrypt, util/password.h). On a terminal the password is read twice
// without echo; otherwise the first line of stdin is the password (for scripts).
// Thread: main thread. Never throws.
#pragma once

namespace ferry::daemon {

// Returns kExitOk after printing the hash on stdout, kExitUsage on an empty or mismatched
// password, kExitStartup when hashing fails.
int run_hash_password();

}  // namespace ferry::daemon
