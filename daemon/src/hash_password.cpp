#include "hash_password.h"

#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <string>

#include "ferry/util/password.h"
#include "services/exit_codes.h"

namespace ferry::daemon {

namespace {

// One line from stdin without its line ending; echo off when stdin is a terminal.
bool read_line(bool tty, const char* prompt, std::string& out) {
  termios saved{};
  if (tty) {
    std::cerr << prompt << std::flush;
    ::tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  bool ok = static_cast<bool>(std::getline(std::cin, out));
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    std::cerr << std::endl;
  }
  if (!out.empty() && out.back() == '\r') out.pop_back();
  return ok || !out.empty();
}

}  // namespace

int run_hash_password() {
  bool tty = ::isatty(STDIN_FILENO) == 1;
  std::string password, again;
  if (!read_line(tty, "Password: ", password) || password.empty()) {
    std::cerr << "ferryd: empty password" << std::endl;
    return kExitUsage;
  }
  if (tty && (!read_line(tty, "Again: ", again) || again != password)) {
    std::cerr << "ferryd: the passwords differ" << std::endl;
    return kExitUsage;
  }
  std::string error;
  auto hash = util::hash_password(password, error);
  if (!hash) {
    std::cerr << "ferryd: " << error << std::endl;
    return kExitStartup;
  }
  std::cout << *hash << std::endl;
  return kExitOk;
}

}  // namespace ferry::daemon
