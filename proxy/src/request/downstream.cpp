#include "request/downstream.h"

namespace ferry::proxy {

bool DownstreamConn::refresh_plan() {
  if (revoked_) return false;
  if (w_.plan() == wp_) return true;
  auto it = w_.plan()->plan->binds.find(key_);
  if (it == w_.plan()->plan->binds.end()) return false;  // listener removed: finish here
  const auto& fe = w_.plan()->plan->frontends[it->second.frontend];
  if (fe.cfg->mode != config::Mode::http) return false;
  if (fe.cfg->backhaul && !fe.trusted.contains(peer_.socket)) {  // no longer a mesh peer
    revoked_ = true;
    return false;
  }
  if (fe.stats != fe_->stats) {  // counted as active under the new plan's frontend from now on
    fe_->stats->closed(w_.id());
    fe.stats->opened(w_.id());
  }
  wp_ = w_.plan();
  fe_ = &fe;
  bind_ = it->second.bind;
  trusted_ = fe_->trusts(peer_.socket, peer_.client);
  return true;
}

}  // namespace ferry::proxy
