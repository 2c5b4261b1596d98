#include "services/logging.h"

#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Message.h>
#include <Poco/PatternFormatter.h>
#include <Poco/SimpleFileChannel.h>

#include <atomic>
#include <mutex>
#include <sstream>

#include "ferry/proxy/engine.h"

namespace ferry::daemon {

namespace {

constexpr const char* kPattern = "%Y-%m-%dT%H:%M:%S.%iZ %p %t";

// The one channel every logger writes to. Filters by an atomic level (loggers themselves stay
// at trace, so their level is never written after start-up) and forwards to a replaceable
// target under a mutex. Exceptions from the target are swallowed: logging must never throw
// into a worker thread.
class SwitchChannel : public Poco::Channel {
 public:
  void log(const Poco::Message& msg) override {
    if (msg.getPriority() > level_.load(std::memory_order_relaxed)) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (!target_) return;
    try {
      target_->log(msg);
    } catch (...) {
      // nowhere left to report it
    }
  }

  void set(Poco::AutoPtr<Poco::Channel> target, int level) {
    Poco::AutoPtr<Poco::Channel> old;
    {
      std::lock_guard<std::mutex> lock(mu_);
      old = target_;
      target_ = std::move(target);
      level_.store(level);
    }
    if (old) {
      try {
        old->close();
      } catch (...) {
      }
    }
  }

 private:
  std::mutex mu_;
  Poco::AutoPtr<Poco::Channel> target_;
  std::atomic<int> level_{Poco::Message::PRIO_INFORMATION};
};

SwitchChannel* g_switch = nullptr;  // owned by POCO's logger registry once installed
Poco::Logger* g_logger = nullptr;

Poco::AutoPtr<Poco::Channel> make_target(const std::string& target) {
  Poco::AutoPtr<Poco::Channel> sink;
  if (target == "stderr") {
    sink = new Poco::ConsoleChannel;  // std::clog = stderr
  } else {
    Poco::AutoPtr<Poco::SimpleFileChannel> file(new Poco::SimpleFileChannel);
    file->setProperty(Poco::SimpleFileChannel::PROP_PATH, target);
    file->setProperty(Poco::SimpleFileChannel::PROP_FLUSH, "true");
    file->open();  // throws when the file cannot be created
    sink = file;
  }
  Poco::AutoPtr<Poco::PatternFormatter> fmt(new Poco::PatternFormatter(kPattern));
  return new Poco::FormattingChannel(fmt, sink);
}

}  // namespace

int to_poco_priority(config::LogLevel level) {
  using L = config::LogLevel;
  switch (level) {
    case L::trace: return Poco::Message::PRIO_TRACE;
    case L::debug: return Poco::Message::PRIO_DEBUG;
    case L::info: return Poco::Message::PRIO_INFORMATION;
    case L::notice: return Poco::Message::PRIO_NOTICE;
    case L::warning: return Poco::Message::PRIO_WARNING;
    case L::error: return Poco::Message::PRIO_ERROR;
    case L::critical: return Poco::Message::PRIO_CRITICAL;
    case L::fatal: return Poco::Message::PRIO_FATAL;
  }
  return Poco::Message::PRIO_INFORMATION;
}

void init_logging() {
  if (g_switch) return;
  Poco::AutoPtr<SwitchChannel> sw(new SwitchChannel);
  sw->set(make_target("stderr"), Poco::Message::PRIO_INFORMATION);
  g_switch = sw.get();
  // "" = every existing and future logger; they all pass everything to the switch.
  Poco::Logger::setChannel("", sw);
  Poco::Logger::setLevel("", Poco::Message::PRIO_TRACE);
  g_logger = &Poco::Logger::get("ferry");
  Poco::Logger::root().setChannel(sw);
  Poco::Logger::root().setLevel(Poco::Message::PRIO_TRACE);
}

Poco::Logger& logger() {
  if (!g_logger) init_logging();
  return *g_logger;
}

bool configure_logging(const std::string& target, config::LogLevel level, std::string& error) {
  if (!g_switch) init_logging();
  try {
    g_switch->set(make_target(target), to_poco_priority(level));
    return true;
  } catch (const Poco::Exception& e) {
    error = "log " + target + ": " + e.displayText();
  } catch (const std::exception& e) {
    error = "log " + target + ": " + e.what();
  }
  return false;
}

void install_proxy_sink(config::LogLevel min_level) {
  Poco::Logger* lg = &logger();
  proxy::set_log_sink(
      [lg](config::LogLevel level, std::string_view text) {
        try {
          lg->log(Poco::Message(lg->name(), std::string(text),
                                static_cast<Poco::Message::Priority>(to_poco_priority(level))));
        } catch (...) {
          // a log line is never worth an exception on a worker
        }
      },
      min_level);
}

void log_lines(int priority, const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    logger().log(Poco::Message(logger().name(), prefix + line,
                               static_cast<Poco::Message::Priority>(priority)));
  }
}

}  // namespace ferry::daemon
