#include "ferry_app.h"

#include <Poco/Exception.h>
#include <Poco/Logger.h>
#include <Poco/Message.h>
#include <Poco/NumberParser.h>
#include <Poco/Path.h>
#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <sys/stat.h>

#include <iostream>

#include "daemon.h"
#include "hash_password.h"
#include "services/check.h"
#include "services/exit_codes.h"
#include "services/logging.h"
#include "signals.h"

namespace ferry::daemon {

using Poco::Util::Option;

namespace {
// POCO's own application messages (option errors, subsystem chatter) go to this child of
// "ferry", kept at info so debug chatter such as "Uninitializing subsystem" stays out.
constexpr const char* kAppLogger = "ferry.app";
}  // namespace

FerryApp::FerryApp() {
  init_logging();  // stderr until the configuration says otherwise
  Poco::Logger& app_log = Poco::Logger::get(kAppLogger);
  app_log.setLevel(Poco::Message::PRIO_INFORMATION);  // set once, before any thread exists
  setLogger(app_log);
  setUnixOptions(true);
}

void FerryApp::initialize(Poco::Util::Application& self) {
  // The LoggingSubsystem re-selects the application logger from this property.
  config().setString("application.logger", kAppLogger);
  Poco::Util::ServerApplication::initialize(self);
}

int FerryApp::exit_code(int poco_rc) const {
  if (!main_entered_) return poco_rc == EXIT_OK ? kExitOk : kExitUsage;
  if (poco_rc >= kExitOk && poco_rc <= kExitStartup) return poco_rc;
  return kExitStartup;  // EXIT_SOFTWARE: main() threw and POCO caught it
}

void FerryApp::defineOptions(Poco::Util::OptionSet& options) {
  // Not ServerApplication::defineOptions: ferryd defines --daemon/--umask/--pidfile itself so
  // that the pidfile is written by the final process and removed at exit, and so that a bad
  // pidfile is a start-up failure (exit 3), not a usage error. The fork itself is still
  // ServerApplication's (it looks for "--daemon" in argv before options are parsed).
  Poco::Util::Application::defineOptions(options);
  options.addOption(Option("config", "f", "configuration file (default /etc/ferry/ferry.conf)")
                        .required(false)
                        .repeatable(false)
                        .argument("FILE"));
  options.addOption(
      Option("check", "c", "check the configuration, print diagnostics, and exit")
          .required(false)
          .repeatable(false));
  options.addOption(Option("hash-password", "",
                           "read a password from stdin (twice, without echo, on a terminal) and "
                           "print its hash for 'admin-user NAME HASH'")
                        .required(false)
                        .repeatable(false));
  options.addOption(Option("version", "", "print the version and exit").required(false));
  options.addOption(Option("help", "h", "print this help and exit").required(false));
  options.addOption(Option("daemon", "", "run in the background (fork, setsid, chdir /)")
                        .required(false)
                        .repeatable(false));
  options.addOption(Option("umask", "", "umask of the daemon (octal, e.g. 027)")
                        .required(false)
                        .repeatable(false)
                        .argument("MASK"));
  options.addOption(Option("pidfile", "", "write the process id to FILE; removed at exit")
                        .required(false)
                        .repeatable(false)
                        .argument("FILE"));
}

void FerryApp::handleOption(const std::string& name, const std::string& value) {
  Poco::Util::Application::handleOption(name, value);
  // Paths are made absolute now: --daemon changes the directory to / after option parsing.
  if (name == "config") {
    config_path_ = Poco::Path(value).absolute().toString();
  } else if (name == "check") {
    if (mode_ == Mode::run) mode_ = Mode::check;
  } else if (name == "hash-password") {
    mode_ = Mode::hash_password;
  } else if (name == "version") {
    mode_ = Mode::version;
    stopOptionsProcessing();
  } else if (name == "help") {
    mode_ = Mode::help;
    stopOptionsProcessing();
  } else if (name == "daemon") {
    config().setBool("application.runAsDaemon", true);
  } else if (name == "umask") {
    unsigned mask = 0;
    if (!Poco::NumberParser::tryParseOct(value, mask) || mask > 0777)
      throw Poco::InvalidArgumentException("bad umask", value);
    ::umask(static_cast<mode_t>(mask));
  } else if (name == "pidfile") {
    pidfile_path_ = Poco::Path(value).absolute().toString();
  }
}

void FerryApp::print_help() {
  Poco::Util::HelpFormatter help(options());
  help.setUnixStyle(true);
  help.setCommand("ferryd");
  help.setUsage("[OPTIONS]");
  help.setHeader("Ferry edge proxy daemon.");
  help.setFooter(
      "Signals: SIGHUP reloads the configuration; SIGTERM, SIGINT and SIGQUIT drain and stop.\n"
      "Exit codes: 0 ok, 1 configuration invalid, 2 usage error, 3 start-up failure.");
  help.format(std::cout);
}

int FerryApp::main(const std::vector<std::string>& args) {
  main_entered_ = true;
  switch (mode_) {
    case Mode::help:
      print_help();
      return kExitOk;
    case Mode::version:
      std::cout << "ferryd " FERRY_VERSION << std::endl;
      return kExitOk;
    default:
      break;
  }
  if (!args.empty()) {
    std::cerr << "ferryd: unexpected argument '" << args.front()
              << "' (try ferryd --help)" << std::endl;
    return kExitUsage;
  }
  if (mode_ == Mode::check) return run_check(config_path_);
  if (mode_ == Mode::hash_password) return run_hash_password();
  return run_daemon();
}

int FerryApp::run_daemon() {
  // First, before any thread exists: every thread created later inherits the mask, so the
  // control signals are only ever taken by the sigwait loop below.
  block_control_signals();
  try {
    if (!pidfile_path_.empty()) {
      std::string error;
      if (!pidfile_.write(pidfile_path_, error)) {
        logger().fatal("start-up failed: " + error);
        return kExitStartup;
      }
    }
    Daemon daemon(config_path_);
    int rc = daemon.start();
    if (rc != kExitOk) return rc;
    rc = daemon.run();
    pidfile_.remove();
    return rc;
  } catch (const Poco::Exception& e) {
    logger().fatal("fatal: " + e.displayText());
  } catch (const std::exception& e) {
    logger().fatal(std::string("fatal: ") + e.what());
  } catch (...) {
    logger().fatal("fatal: unknown exception");
  }
  return kExitStartup;
}

}  // namespace ferry::daemon
