// Listening sockets for the workers: one SO_REUSEPORT socket per worker and address, so the
// kernel spreads connections over the workers. Created and bound on the control thread (so
// bind errors are reported before a configuration goes live), then handed to the workers.
#pragma once

#include <string>
#include <vector>

#include "ferry/configlang/config.h"

namespace ferry::proxy {

struct ListenSockets {
  std::vector<int> fds;    // one per worker; owned by the caller until handed over
  std::string bound;       // "127.0.0.1:41234" (real port)
};

// Opens `count` sockets bound to `addr` (port 0: the kernel picks one port for all).
// On failure returns false with `error` naming the address and the errno text; no fd leaks.
bool open_listen_sockets(const config::Address& addr, int count, ListenSockets& out, std::string& error);
void close_listen_sockets(ListenSockets& s);

}  // namespace ferry::proxy
