// The result of a netlink operation: success (maybe with "changed something"), or an errno-like
// code with a message naming what was attempted ("add address 10.9.9.9/32 to lo: Operation not
// permitted"). Nothing in ferry::netlink throws; every fallible call returns a Status.
#pragma once

#include <string>
#include <utility>

namespace ferry::netlink {

struct Status {
  int code = 0;          // 0 = success; else a positive errno value (EPERM, ENODEV, EOPNOTSUPP, ...)
  std::string message;   // on failure: what was attempted, and why it failed
  bool changed = false;  // on success: whether the call changed anything (idempotent calls)

  bool ok() const { return code == 0; }
  explicit operator bool() const { return ok(); }

  static Status success(bool changed = false) {
    Status s;
    s.changed = changed;
    return s;
  }
  static Status error(int code, std::string message) {
    Status s;
    s.code = code;
    s.message = std::move(message);
    return s;
  }
};

}  // namespace ferry::netlink
