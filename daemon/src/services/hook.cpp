#include "services/hook.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/URI.h>
#include <signal.h>
#include <sys/wait.h>

#include <cctype>
#include <cstring>
#include <thread>

#include "ferry/util/json.h"
#include "ferry/util/spawn.h"
#include "services/tls_client.h"

extern char** environ;

namespace ferry::daemon {

namespace {

using Clock = std::chrono::steady_clock;

// A webhook call waits at most this long, whatever the app's autostart-timeout: an
// orchestrator is expected to acknowledge the request and start the instance on its own time
// (the held requests wait for the registration, not for the call).
constexpr std::chrono::milliseconds kMaxWebhookWait{10000};

Poco::Timespan span(std::chrono::milliseconds ms) {
  return Poco::Timespan(ms.count() / 1000, static_cast<long>(ms.count() % 1000) * 1000);
}

std::string post(const HookCall& call) {
  const auto timeout = std::min(call.timeout, kMaxWebhookWait);
  try {
    Poco::URI uri(call.url);
    const bool https = uri.getScheme() == "https";
    Poco::Net::SocketAddress addr(uri.getHost(), uri.getPort());
    Poco::Net::StreamSocket plain(addr.family());
    plain.connect(addr, span(timeout));
    plain.setReceiveTimeout(span(timeout));
    plain.setSendTimeout(span(timeout));
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    if (https) {
      init_ssl_once();
      Poco::Net::SecureStreamSocket secure = attach_verified(plain, uri.getHost(), client_context({}));
      session = std::make_unique<Poco::Net::HTTPClientSession>(secure);
    } else {
      session = std::make_unique<Poco::Net::HTTPClientSession>(plain);
    }
    session->setTimeout(span(timeout), span(timeout), span(timeout));
    const std::string body = hook_json(call.fields);
    Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_POST, uri.getPathEtc(), Poco::Net::HTTPMessage::HTTP_1_1);
    req.set("Host", uri.getAuthority());
    req.set("User-Agent", "ferryd-autostart");
    req.setContentType("application/json");
    req.setContentLength(static_cast<std::streamsize>(body.size()));
    session->sendRequest(req) << body;
    Poco::Net::HTTPResponse resp;
    std::istream& is = session->receiveResponse(resp);
    char sink[4096];
    for (int i = 0; i < 16 && is.read(sink, sizeof sink); ++i) {
    }  // a little of the body, so a well-behaved server sees it read; the rest is dropped
    const int status = static_cast<int>(resp.getStatus());
    if (status < 200 || status > 299) return "HTTP " + std::to_string(status) + " " + resp.getReason();
    return {};
  } catch (const Poco::TimeoutException&) {
    return "timed out after " + std::to_string(timeout.count()) + " ms";
  } catch (const Poco::Exception& e) {
    return e.displayText();
  } catch (const std::exception& e) {
    return e.what();
  }
}


std::string env_name(const std::string& key) {
  std::string out = "FERRY_";
  for (char c : key) out += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::toupper(c)) : '_';
  return out;
}

std::string run_command(const HookCall& call, const std::atomic<bool>* cancel) {
  if (call.command.empty()) return "no command";
  util::SpawnOptions so;
  so.argv = call.command;
  so.search_path = true;  // a bare name, as execvp and systemd find it
  for (char** e = environ; e && *e; ++e)
    if (std::strncmp(*e, "FERRY_", 6) != 0) so.env.emplace_back(*e);  // ours only
  for (const auto& [k, v] : call.fields) so.env.push_back(env_name(k) + "=" + v);
  pid_t pid = -1;
  const int rc = util::spawn(so, pid);
  if (rc != 0) return "run " + call.command[0] + ": " + std::strerror(rc);
  const auto deadline = Clock::now() + call.timeout;
  for (;;) {
    int status = 0;
    const pid_t got = ::waitpid(pid, &status, WNOHANG);
    if (got == pid) return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? std::string() : util::describe_exit(status);
    if (got < 0) return std::string("wait: ") + std::strerror(errno);
    const bool cancelled = cancel && cancel->load();
    if (cancelled || Clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return cancelled ? "cancelled (ferryd is stopping)"
                       : "timed out after " + std::to_string(call.timeout.count()) + " ms (killed)";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

std::string hook_json(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out = "{";
  for (const auto& [k, v] : fields) {
    if (out.size() > 1) out += ',';
    util::append_json_string(out, k);
    out += ':';
    util::append_json_string(out, v);
  }
  out += '}';
  return out;
}

std::string run_hook(const HookCall& call, const std::atomic<bool>* cancel) {
  return call.url.empty() ? run_command(call, cancel) : post(call);
}

}  // namespace ferry::daemon
