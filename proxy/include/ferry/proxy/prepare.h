// Preparing a configuration for the data plane: everything that can fail for a reason in the
// configuration, done once, before anything is installed — every `certificate PATH` and
// `default-certificate PATH` read once, checked (key match, dates, chain) and made into its TLS
// context; the hosts of an app with a certificate checked as SNI names; every upstream
// `proto h2` client context (its `ca-file` loaded once per file); the access-log file opened.
// Problems come back as diagnostics at the directive (file:line:col), like configlang's.
//
// Engine::prepare (engine.h) prepares for that engine: the result can be installed with
// Engine::apply, which then only binds new listeners and publishes. prepare_config() is the
// same work as a check (`ferryd -c`, the admin API's validate): nothing is kept and the
// result cannot be installed.
//
// Thread: any control-plane thread (reads files, never a worker). Never throws (but bad_alloc).
#pragma once

#include <memory>
#include <vector>

#include "ferry/configlang/config.h"
#include "ferry/configlang/load.h"

namespace ferry::proxy {

// A prepared configuration, opaque outside the proxy (proxy/src/plan/prepared.h). Immutable;
// owns its TLS contexts and its access-log file. Shared by whoever holds it.
struct PreparedConfig;

struct Prepared {
  // Set when prepared for an engine and no error was found; install it with Engine::apply.
  std::shared_ptr<const PreparedConfig> ready;
  // Errors and warnings (e.g. a certificate that expires within 14 days), each at the
  // directive that names the file, in configuration order; without position (line 0) for a
  // problem of the host (e.g. no random numbers for the ticket keys).
  std::vector<config::Diagnostic> diagnostics;
  bool ok() const;  // no error among the diagnostics
};

struct PrepareOptions {
  // The access-log file: `open` (created if missing, kept for apply: Engine::prepare),
  // `check` (an existing file must open for writing, a missing one needs a directory it can
  // be created in; nothing is created: `ferryd -c`), or `skip` (text from an API user: probing
  // the host's paths would tell which exist).
  enum class OutputFiles { open, check, skip };
  OutputFiles outputs = OutputFiles::check;
};

// The check: everything Engine::prepare does, nothing kept (Prepared::ready stays null).
// `outputs` must not be `open`.
Prepared prepare_config(std::shared_ptr<const config::Config> cfg, PrepareOptions opts = {});

}  // namespace ferry::proxy
