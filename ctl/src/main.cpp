// ferryctl: the command-line client of ferryd's admin API (docs/API.md, docs/OPERATIONS.md).
//
//   ferryctl [--admin URL] [--user U] [--token T] [--json] [--insecure] COMMAND [ARGS]
//
// This file: the global options, login, dispatch, and the status/apps/servers/drain/reload/
// certs commands. The instance catalog's commands are instances.cpp (command line:
// instance_spec.cpp); the API calls and answer readers api.cpp; the HTTP client client.cpp.
//
// Exit codes: 0 ok, 1 the API answered with an error (its message is printed), 2 usage,
// 3 cannot connect to the admin listener.
#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "api.h"
#include "client.h"
#include "ferry/util/json.h"
#include "instance_spec.h"
#include "instances.h"
#include "table.h"

namespace ferryctl {
namespace {

constexpr int kExitOk = 0, kExitApi = 1, kExitUsage = 2, kExitConnect = 3;

const char* kUsage =
    "usage: ferryctl [--admin URL] [--user USER] [--token TOKEN] [--json] [--insecure] COMMAND\n"
    "commands:\n"
    "  status                   node, version, uptime, configuration, reload, totals\n"
    "  apps                     apps with their traffic\n"
    "  servers                  every backend server with health and drain state\n"
    "  drain BACKEND SERVER     stop sending new requests to a server\n"
    "  enable BACKEND SERVER    undo drain\n"
    "  reload                   re-read and apply the configuration file\n"
    "  certs                    certificates and their ACME state\n"
    "  renew APP                order a new ACME certificate for APP now\n"
    "  instances [APP]          live catalog instances (this node's and mesh peers') and peer sync\n"
    "  instance add APP ID ADDRESS [INSTANCE-OPTIONS]\n"
    "                           register (or replace) an instance hosted on this node\n"
    "  instance update APP ID [ADDRESS] [INSTANCE-OPTIONS]\n"
    "                           change an instance hosted on this node (other fields are kept)\n"
    "  instance remove APP ID   remove an instance hosted on this node\n"
    "  instance start APP ID    set its state to started (it receives traffic)\n"
    "  instance stop APP ID     set its state to stopped (no new traffic)\n"
    "instance options:\n"
    "  --region R    region (default: the node's)\n"
    "  --state S     starting, started (default), stopping or stopped\n"
    "  --weight N    0..256 (default 1)\n"
    "  --soft N      concurrency soft limit (default 0: the app's)\n"
    "  --hard N      concurrency hard limit (default 0: none)\n"
    "  --meta K=V    metadata entry; repeatable (update adds or replaces keys)\n"
    "  --wait        (every instance command) return once every mesh peer (etcd: every other\n"
    "                live node) routes with the change; exit 1 naming those that did not confirm\n"
    "  --timeout S   how long --wait waits, in seconds (default 10)\n"
    "options (and environment):\n"
    "  --admin URL   admin API address (FERRY_ADMIN; default http://127.0.0.1:9900)\n"
    "  --token T     bearer token from POST /api/v1/login (FERRY_TOKEN)\n"
    "  --user U      log in as U (FERRY_USER); password from FERRY_PASSWORD or a prompt\n"
    "  --json        print the API's JSON answer instead of a table\n"
    "  --insecure    do not verify an https admin certificate\n"
    "exit codes: 0 ok, 1 API error, 2 usage, 3 cannot connect\n";

struct Options {
  std::string admin = "http://127.0.0.1:9900";
  std::string user, token;
  bool json = false, insecure = false;
  std::vector<std::string> args;  // command and its arguments
};

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// Reads a password from the terminal without echo.
std::string prompt_password(const std::string& user) {
  std::ifstream tty("/dev/tty");
  std::ofstream out("/dev/tty");
  if (!tty || !out) throw ApiError{"no password: set FERRY_PASSWORD or run on a terminal"};
  out << "password for " << user << ": " << std::flush;
  termios old{};
  bool restore = tcgetattr(STDIN_FILENO, &old) == 0 && isatty(STDIN_FILENO);
  if (restore) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string pw;
  std::getline(tty, pw);
  if (restore) tcsetattr(STDIN_FILENO, TCSANOW, &old);
  out << "\n";
  return pw;
}

std::string date(double t) {
  if (t <= 0) return "-";
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}
std::string rate(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

int cmd_status(Client& c, const Options& o) {
  std::string raw;
  auto v = call(c, "GET", "/api/v1/overview", &raw);
  if (o.json) return std::cout << raw, kExitOk;
  auto ov = v.extract<Poco::JSON::Object::Ptr>();
  auto reload = ov->getObject("reload");
  auto totals = ov->getObject("totals");
  std::cout << "node:        " << str(ov, "node") << (str(ov, "region").empty() ? "" : " (region " + str(ov, "region") + ")")
            << "\n"
            << "version:     " << str(ov, "version") << "  pid " << str(ov, "pid") << "  up "
            << human_duration(static_cast<long long>(num(ov, "uptime_s"))) << "  workers " << str(ov, "workers") << "\n"
            << "config:      " << str(ov, "config_path") << "  generation " << str(ov, "generation") << "  loaded "
            << date(num(ov, "config_loaded_at")) << " UTC\n"
            << "last reload: " << (flag(reload, "last_ok") ? "ok" : "FAILED") << "  (" << str(reload, "attempts")
            << " attempts, " << str(reload, "failures") << " failed)\n";
  if (!flag(reload, "last_ok")) std::cout << str(reload, "last_error") << "\n";
  std::cout << "connections: " << str(ov, "connections_active") << " active\n"
            << "traffic:     " << human_count(num(totals, "requests")) << " requests, " << rate(num(totals, "rps"))
            << " req/s, " << human_count(num(totals, "errors_5xx")) << " 5xx, in " << human_count(num(totals, "bytes_in"))
            << "B, out " << human_count(num(totals, "bytes_out")) << "B\n";
  auto top = ov->getArray("top_apps");
  if (top && top->size() > 0) {
    std::cout << "top apps:   ";
    for (size_t i = 0; i < top->size(); ++i) {
      auto a = top->getObject(static_cast<unsigned>(i));
      std::cout << " " << str(a, "name") << " " << rate(num(a, "rps")) << "/s";
    }
    std::cout << "\n";
  }
  return kExitOk;
}

int cmd_apps(Client& c, const Options& o) {
  std::string raw;
  auto v = call(c, "GET", "/api/v1/apps", &raw);
  if (o.json) return std::cout << raw, kExitOk;
  auto arr = v.extract<Poco::JSON::Array::Ptr>();
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < arr->size(); ++i) {
    auto a = arr->getObject(static_cast<unsigned>(i));
    auto st = a->getObject("status");
    rows.push_back({str(a, "name"), str(a, "mode"), join(a->getArray("hosts")), str(a, "backend"), str(a, "inflight"),
                    str(a, "queued"), rate(num(a, "rps")), human_count(num(a, "requests")), human_count(num(st, "5xx")),
                    human_count(num(a, "rejected"))});
  }
  std::cout << format_table({"name", "mode", "hosts", "backend", "inflight", "queued", "rps", "requests", "5xx", "rejected"},
                            rows);
  return kExitOk;
}

std::vector<std::string> server_row(const Poco::JSON::Object::Ptr& s) {
  std::string state = flag(s, "disabled") ? "disabled"
                      : flag(s, "drained") ? "drained"
                      : flag(s, "ejected") ? "ejected"
                      : flag(s, "healthy") ? "up"
                                           : "down";
  return {str(s, "backend"), str(s, "name"), str(s, "address"), str(s, "region"), state, str(s, "inflight"),
          rate(num(s, "ewma_latency_ms")), human_count(num(s, "responses")), human_count(num(s, "connect_errors"))};
}
const std::vector<std::string> kServerHeader = {"backend", "server", "address", "region", "state",
                                                "inflight", "latency_ms", "responses", "connect_errors"};

int cmd_servers(Client& c, const Options& o) {
  std::string raw;
  auto v = call(c, "GET", "/api/v1/servers", &raw);
  if (o.json) return std::cout << raw, kExitOk;
  auto arr = v.extract<Poco::JSON::Array::Ptr>();
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < arr->size(); ++i) rows.push_back(server_row(arr->getObject(static_cast<unsigned>(i))));
  std::cout << format_table(kServerHeader, rows);
  return kExitOk;
}

int cmd_drain(Client& c, const Options& o, bool drain) {
  std::string raw;
  const std::string& be = o.args[1];
  const std::string& sv = o.args[2];
  auto v = call(c, "POST", "/api/v1/servers/" + seg(be) + "/" + seg(sv) + (drain ? "/drain" : "/enable"), &raw);
  if (o.json) return std::cout << raw, kExitOk;
  std::cout << (drain ? "drained " : "enabled ") << be << "/" << sv << "\n";
  return kExitOk;
}

int cmd_reload(Client& c, const Options& o) {
  std::string raw;
  auto v = call(c, "POST", "/api/v1/reload", &raw);
  auto r = v.extract<Poco::JSON::Object::Ptr>();
  if (o.json) {
    std::cout << raw;
  } else if (flag(r, "ok")) {
    std::cout << "reload ok, generation " << str(r, "generation") << "\n";
  }
  if (!flag(r, "ok")) {
    std::cerr << "ferryctl: reload failed, the running configuration is kept:\n" << str(r, "error") << "\n";
    return kExitApi;
  }
  return kExitOk;
}

int cmd_certs(Client& c, const Options& o) {
  std::string raw;
  auto v = call(c, "GET", "/api/v1/certificates", &raw);
  if (o.json) return std::cout << raw, kExitOk;
  auto arr = v.extract<Poco::JSON::Array::Ptr>();
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < arr->size(); ++i) {
    auto x = arr->getObject(static_cast<unsigned>(i));
    std::string who = str(x, "app").empty() ? "frontend " + str(x, "frontend") : str(x, "app");
    rows.push_back({who, str(x, "source"), str(x, "state"), join(x->getArray("hosts")), date(num(x, "not_after")),
                    date(num(x, "next_renewal")), str(x, "renewal_failures"), str(x, "last_error")});
  }
  std::cout << format_table({"app", "source", "state", "hosts", "not_after", "next_renewal", "failures", "last_error"},
                            rows);
  return kExitOk;
}

int cmd_renew(Client& c, const Options& o) {
  std::string raw;
  call(c, "POST", "/api/v1/certificates/" + seg(o.args[1]) + "/renew", &raw);
  if (o.json) return std::cout << raw, kExitOk;
  std::cout << "renewal of " << o.args[1] << " started (see `ferryctl certs`)\n";
  return kExitOk;
}

int usage(const std::string& why) {
  if (!why.empty()) std::cerr << "ferryctl: " << why << "\n";
  std::cerr << kUsage;
  return kExitUsage;
}

int run(int argc, char** argv) {
  Options o;
  if (!env("FERRY_ADMIN").empty()) o.admin = env("FERRY_ADMIN");
  o.user = env("FERRY_USER");
  o.token = env("FERRY_TOKEN");
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return kExitOk;
    } else if (a == "--admin" || a == "--user" || a == "--token") {
      std::string& dst = a == "--admin" ? o.admin : a == "--user" ? o.user : o.token;
      if (!value(dst)) return usage(a + " needs a value");
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--insecure") {
      o.insecure = true;
    } else if (a.size() > 1 && a[0] == '-' && o.args.empty()) {
      return usage("unknown option " + a);
    } else {  // the command, its arguments and its own options (checked below)
      o.args.push_back(a);
    }
  }
  if (o.args.empty()) return usage("no command");
  const std::string& cmd = o.args[0];
  InstanceCommand instance;
  if (cmd == "instance") {
    std::string why = parse_instance_command({o.args.begin() + 1, o.args.end()}, instance);
    if (!why.empty()) return usage(why);
  } else {
    for (const auto& a : o.args)
      if (a.size() > 1 && a[0] == '-') return usage("unknown option " + a);
    auto want = [&](size_t n) { return o.args.size() == n + 1; };
    bool known = ((cmd == "status" || cmd == "apps" || cmd == "servers" || cmd == "reload" || cmd == "certs") &&
                  want(0)) ||
                 ((cmd == "drain" || cmd == "enable") && want(2)) || (cmd == "renew" && want(1)) ||
                 (cmd == "instances" && (want(0) || want(1)));
    if (!known) {
      if (cmd == "status" || cmd == "apps" || cmd == "servers" || cmd == "reload" || cmd == "certs" ||
          cmd == "drain" || cmd == "enable" || cmd == "renew" || cmd == "instances")
        return usage("wrong number of arguments for " + cmd);
      return usage("unknown command " + cmd);
    }
  }

  try {
    Client c(o.admin, o.insecure);
    if (!o.token.empty()) {
      c.set_token(o.token);
    } else if (!o.user.empty()) {
      std::string pw = env("FERRY_PASSWORD");
      if (pw.empty()) pw = prompt_password(o.user);
      // JSON text is UTF-8 (RFC 8259): bytes of a password that are not UTF-8 are sent as U+FFFD.
      ferry::util::JsonWriter body;
      body.begin_object().field("password", pw).field("user", o.user).end_object();
      Reply r = c.request("POST", "/api/v1/login", body.str());
      if (r.status != 200) throw ApiError{"login failed: " + error_message(r)};
      auto login = parse(r.body).extract<Poco::JSON::Object::Ptr>();
      c.set_token(str(login, "token"));
    }
    int rc;
    if (cmd == "status") rc = cmd_status(c, o);
    else if (cmd == "apps") rc = cmd_apps(c, o);
    else if (cmd == "servers") rc = cmd_servers(c, o);
    else if (cmd == "drain" || cmd == "enable") rc = cmd_drain(c, o, cmd == "drain");
    else if (cmd == "reload") rc = cmd_reload(c, o);
    else if (cmd == "certs") rc = cmd_certs(c, o);
    else if (cmd == "renew") rc = cmd_renew(c, o);
    else if (cmd == "instances") rc = cmd_instances(c, o.args.size() > 1 ? o.args[1] : "", o.json);
    else rc = cmd_instance(c, instance, o.json);
    // A session this run logged in for ends with it (best effort), so scripted use does not
    // pile up sessions until they idle out.
    if (o.token.empty() && !o.user.empty()) {
      try {
        c.request("POST", "/api/v1/logout", "");
      } catch (...) {
      }
    }
    return rc;
  } catch (const ConnectError& e) {
    std::cerr << "ferryctl: " << e.message << "\n";
    return kExitConnect;
  } catch (const ApiError& e) {
    std::cerr << "ferryctl: " << e.message << "\n";
    return kExitApi;
  } catch (const Poco::Exception& e) {
    std::cerr << "ferryctl: unexpected answer: " << e.displayText() << "\n";
    return kExitApi;
  }
}

}  // namespace
}  // namespace ferryctl

int main(int argc, char** argv) { return ferryctl::run(argc, argv); }
