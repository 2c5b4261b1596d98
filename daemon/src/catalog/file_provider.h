// The file provider (docs/CATALOG.md, "Instance files"): for operators without an
// orchestrator, a directory of instance files (`catalog` / `instances-dir PATH`), each
// `NAME.json` one instance hosted on this node, in the admin API's schema (instance_json.h;
// `id` defaults to NAME). The directory is watched with inotify; every change rescans it:
//   - a new or changed file registers its instance in the catalog (a change only when the
//     instance differs from what the catalog holds), tagged with the metadata
//     `ferry.source=file:NAME`;
//   - a removed file removes the instance it registered (found by that tag, so this also holds
//     across restarts);
//   - a file that does not parse is logged (once per content) and its instance, if any, is
//     kept as it was.
// Instances registered through the API are never touched unless a file names the same app/id
// (the file then wins at its next change or rescan). Files above 64 KiB are refused.
//
// Ownership: the Catalog owns at most one FileProvider (replaced when the directory changes at
// a reload). Thread: its own; it calls the Catalog's public methods (never with a lock held).
#pragma once

#include <map>
#include <string>
#include <thread>

namespace ferry::daemon::catalog {

class Catalog;

class FileProvider {
 public:
  FileProvider(Catalog& catalog, std::string dir);  // starts the thread (which scans at once)
  ~FileProvider();                                  // stops and joins it
  FileProvider(const FileProvider&) = delete;
  FileProvider& operator=(const FileProvider&) = delete;

  static constexpr const char* kSourceKey = "ferry.source";

 private:
  void run();
  void scan();

  Catalog& catalog_;
  const std::string dir_;
  int stop_fd_ = -1;  // eventfd: written by the destructor
  std::map<std::string, std::string> reported_;  // file -> the problem last logged for it
  std::thread thread_;
};

}  // namespace ferry::daemon::catalog
