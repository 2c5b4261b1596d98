// The POCO application shell of ferryd: command-line options and the choice of mode
// (help, version, check, run). Lifecycle work is delegated to Daemon (daemon.h).
//
// Ownership: main() owns the one FerryApp. Thread: main thread only. main() maps POCO's
// own failure codes with exit_code() so the process exits with the codes of exit_codes.h.
#pragma once

#include <Poco/Util/OptionSet.h>
#include <Poco/Util/ServerApplication.h>

#include <string>
#include <vector>

#include "pidfile.h"

namespace ferry::daemon {

class FerryApp : public Poco::Util::ServerApplication {
 public:
  FerryApp();

  // Maps the result of run(argc, argv) to ferryd's exit codes: POCO reports option errors
  // (thrown while parsing, before main()) as EXIT_CONFIG; those are usage errors.
  int exit_code(int poco_rc) const;

 protected:
  void initialize(Poco::Util::Application& self) override;
  void defineOptions(Poco::Util::OptionSet& options) override;
  void handleOption(const std::string& name, const std::string& value) override;
  int main(const std::vector<std::string>& args) override;

 private:
  enum class Mode { run, check, help, version, hash_password };
  void print_help();
  int run_daemon();

  Mode mode_ = Mode::run;
  std::string config_path_ = "/etc/ferry/ferry.conf";
  std::string pidfile_path_;
  bool main_entered_ = false;
  bool usage_error_ = false;
  PidFile pidfile_;
};

}  // namespace ferry::daemon
