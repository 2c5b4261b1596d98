// TEMPORARY (branch i6-api only; deleted at merge): stand-ins for the history work so this
// branch links. handle_history_request answers 503; History has no store here, and ApiContext
// .history is always null in this branch, so the History methods below are never called.
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include "api/history.h"
#include "api/http_util.h"
#include "history/history.h"

namespace ferry::daemon {

void handle_history_request(const ApiContext&, const std::string&, Poco::Net::HTTPServerRequest&,
                            Poco::Net::HTTPServerResponse& resp) {
  api::send_error(resp, 503, "history unavailable");
}

std::map<std::string, double> History::rates() const { return {}; }
std::vector<uint64_t> History::spark(const std::string&, int) const { return {}; }

}  // namespace ferry::daemon
