// History: the Sampler (history/sampler.h) fed by Engine::stats() and logging through the
// daemon's logger. Lives in ferryd (not ferry_control) because it calls the Engine.
#include "history/history.h"

#include <Poco/Message.h>

#include "history/sampler.h"
#include "services/logging.h"

namespace ferry::daemon {

struct History::Impl {
  explicit Impl(proxy::Engine& engine)
      : sampler([&engine] { return engine.stats(); },
                [](int level, const std::string& message) {
                  logger().log(Poco::Message("ferry", message, static_cast<Poco::Message::Priority>(level)));
                }) {}
  history::Sampler sampler;
};

History::History(proxy::Engine& engine) : impl_(std::make_unique<Impl>(engine)) {}

History::~History() { stop(); }

bool History::start(std::shared_ptr<const config::Config> cfg, std::string& error) {
  return impl_->sampler.start(history::settings_of(*cfg), error);
}

void History::update(std::shared_ptr<const config::Config> cfg) { impl_->sampler.update(history::settings_of(*cfg)); }

void History::stop() { impl_->sampler.stop(); }

std::vector<HistoryPoint> History::query(const std::string& app, int64_t from, int64_t to, int resolution) const {
  return impl_->sampler.query(app, from, to, resolution);
}

std::map<std::string, double> History::rates() const { return impl_->sampler.rates(); }

std::vector<uint64_t> History::spark(const std::string& app, int minutes) const {
  return impl_->sampler.spark(app, minutes);
}

}  // namespace ferry::daemon
