// Per-worker counters (see counters.h).
#include "runtime/counters.h"

#include "tls/handshake_failure.h"

namespace ferry::proxy::stats {

namespace {

// kDurationBuckets in nanoseconds, so an observation is placed with integer compares.
struct BucketBounds {
  int64_t ns[kDurationBuckets.size()];
  constexpr BucketBounds() : ns{} {
    for (size_t i = 0; i < kDurationBuckets.size(); ++i) ns[i] = static_cast<int64_t>(kDurationBuckets[i] * 1e9 + 0.5);
  }
};
constexpr BucketBounds kBounds;

int status_class(int status) {
  if (status < 100 || status > 599) return 0;
  return status / 100;
}

}  // namespace

template <class C>
void BasicHistogram<C>::observe(std::chrono::nanoseconds d) {
  const int64_t ns = d.count() < 0 ? 0 : d.count();
  size_t i = 0;
  while (i < kDurationBuckets.size() && ns > kBounds.ns[i]) ++i;
  buckets[i].add(1);
  sum_ns.add(static_cast<uint64_t>(ns));
}

template <class C>
void BasicHistogram<C>::sum_into(Histogram& h) const {
  uint64_t total = 0;
  for (size_t i = 0; i < kDurationBuckets.size(); ++i) {
    const uint64_t c = buckets[i].get();
    h.counts[i] += c;
    total += c;
  }
  total += buckets[kDurationBuckets.size()].get();
  h.count += total;
  h.sum += static_cast<double>(sum_ns.get()) / 1e9;
}

template struct BasicHistogram<Counter>;
template struct BasicHistogram<SharedCounter>;

void finish_histogram(Histogram& h) {
  uint64_t run = 0;
  for (auto& c : h.counts) {
    run += c;
    c = run;
  }
  // Slots are read one counter at a time while workers write: a bucket read after the count
  // may hold an observation the count missed. Keep the exposition consistent (+Inf >= le).
  if (h.count < run) h.count = run;
}

AppCounters::AppCounters(int workers) : n_(workers > 0 ? workers : 1), slots_(new AppSlot[static_cast<size_t>(n_)]) {}

void AppCounters::record_request(int worker, StatsProtocol proto, int status, uint64_t in, uint64_t out,
                                 std::chrono::steady_clock::duration took) {
  AppSlot& s = slots_[worker < n_ ? worker : 0];
  const int p = static_cast<int>(proto);
  s.requests[p][proto == StatsProtocol::tcp ? 0 : status_class(status)].add(1);
  s.duration.observe(std::chrono::duration_cast<std::chrono::nanoseconds>(took));
  s.bytes_in.add(in);
  s.bytes_out.add(out);
}

void AppCounters::record_budget(BudgetResult r, bool queued, std::chrono::steady_clock::duration waited) {
  if (r == BudgetResult::queue_full || r == BudgetResult::timed_out) rejected_.add(1);
  if (queued) queue_wait_.observe(std::chrono::duration_cast<std::chrono::nanoseconds>(waited));
}

void AppCounters::sum_into(AppStats& out) const {
  for (int w = 0; w < n_; ++w) {
    const AppSlot& s = slots_[w];
    for (int p = 0; p < kStatsProtocols; ++p)
      for (int c = 0; c < kStatusClasses; ++c) out.requests[p][c] += s.requests[p][c].get();
    s.duration.sum_into(out.duration);
    out.bytes_in += s.bytes_in.get();
    out.bytes_out += s.bytes_out.get();
  }
  queue_wait_.sum_into(out.queue_wait);
  out.rejected += rejected_.get();
  out.rate_limited += rate_limited_.get();
  for (int i = 0; i < kAuthRejections; ++i) out.auth_rejected[i] += auth_rejected_[i].get();
  const uint64_t begun = autostart_waits_.get(), served = autostart_served_.get(), failed = autostart_failed_.get();
  out.autostart_held += begun;
  out.autostart_failed += failed;
  out.autostart_waiting += static_cast<int>(begun >= served + failed ? begun - served - failed : 0);
}

FrontendCounters::FrontendCounters(int workers)
    : n_(workers > 0 ? workers : 1), slots_(new FrontendSlot[static_cast<size_t>(n_)]) {}

void FrontendCounters::sum_into(FrontendStats& out) const {
  uint64_t failed[kTlsFailureReasons] = {};
  int64_t active = 0;
  for (int w = 0; w < n_; ++w) {
    const FrontendSlot& s = slots_[w];
    out.connections_total += s.accepted.get();
    // Each worker's opened - closed (stored in a uint64_t; never below zero per worker).
    active += static_cast<int64_t>(s.active.get());
    out.tls_handshakes += s.tls_ok.get();
    out.refused += s.refused.get();
    for (int r = 0; r < kTlsFailureReasons; ++r) failed[r] += s.tls_failed[r].get();
  }
  out.connections_active += active < 0 ? 0 : active;
  static_assert(sizeof(tls::kHandshakeFailureNames) / sizeof(tls::kHandshakeFailureNames[0]) == kTlsFailureReasons);
  for (int r = 0; r < kTlsFailureReasons; ++r) out.tls_failures.emplace_back(tls::kHandshakeFailureNames[r], failed[r]);
}

}  // namespace ferry::proxy::stats
