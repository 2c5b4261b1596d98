// Test helper: moves this test process into a private network namespace (once), so tests that
// create links and addresses touch nothing of the host. Needs root; prints SKIP otherwise.
#pragma once

#include <sched.h>

#include <cerrno>
#include <cstring>
#include <iostream>

namespace ferry::netlink::test {

inline bool private_netns() {
  static int state = -1;
  if (state < 0) {
    state = ::unshare(CLONE_NEWNET) == 0 ? 1 : 0;
    if (!state) std::cout << "SKIP: unshare(CLONE_NEWNET): " << std::strerror(errno) << std::endl;
  }
  return state == 1;
}

}  // namespace ferry::netlink::test
