// An operator's hook, called by the daemon: an HTTP webhook (POST with a JSON object) or a
// local command (argv, with the same facts as FERRY_* environment variables). Used by
// scale-to-zero (`autostart`, catalog/autoscale.h).
//
// Any thread; blocks for at most the call's timeout. No exceptions: the result says why a call
// failed.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace ferry::daemon {

struct HookCall {
  std::string url;                   // http:// or https:// webhook; or
  std::vector<std::string> command;  // argv; a bare argv[0] is looked up on PATH
  // The facts: a webhook gets them as one JSON object of strings ({"action":"start",...}),
  // a command as FERRY_<KEY upper-cased> variables added to ferryd's environment.
  std::vector<std::pair<std::string, std::string>> fields;
  std::chrono::milliseconds timeout{10000};
};

// Calls it. Success: a webhook answered 2xx, a command exited 0; returns "". Else the reason
// ("connect 127.0.0.1:9000: Connection refused", "HTTP 500", "exited with status 3", "timed out after
// 30s", ...). A command still running at the timeout, or when `*cancel` becomes true, is
// killed (SIGKILL; it may leave processes of its own running, as it means to when it starts
// an instance).
std::string run_hook(const HookCall& call, const std::atomic<bool>* cancel = nullptr);

// The JSON object a webhook receives for `fields` (string values, escaped).
std::string hook_json(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace ferry::daemon
