// An instance as JSON, the one schema of POST /api/v1/instances and of the file provider's
// instance files (docs/API.md, docs/CATALOG.md):
//   {"app": "web", "id": "i1", "address": "127.0.0.1:9001", "region": "dfw", "state": "started",
//    "weight": 1, "soft": 0, "hard": 0, "metadata": {"k": "v"}}
// `app`, `id` and `address` required (`id` may default, see below); the rest optional.
//
// Any thread (POCO's JSON parser; its exceptions are caught here).
#pragma once

#include <string>

#include "catalog/record.h"

namespace ferry::daemon::catalog {

// Parses `body` into `r` (checked as to its types and ranges; the names are checked by
// catalog::check()). `default_id`: the id when the body has none (empty: `id` is required).
// False with `error` on anything malformed.
bool parse_instance(const std::string& body, Record& r, std::string& error, const std::string& default_id = {});

}  // namespace ferry::daemon::catalog
