// Per-worker data-plane counters: one cache-line-aligned slot per worker in each app's and
// each frontend's counter object. A worker writes only its own slot (Counter::add is a
// relaxed load + store, no locked instruction, no line shared with another worker), and
// Engine::stats() sums the slots at scrape time with relaxed loads. A scrape may see a
// request's counters half-updated (e.g. counted in `requests` but not yet in `duration`):
// each value is exact and monotonic on its own, the set is not a snapshot. The budget
// outcomes (rejections, queue waits) are shared counters instead: only requests on the
// budget's slow path record them.
//
// Ownership: AppCounters / FrontendCounters are shared_ptr-held by the RuntimeRegistry (by
// app / frontend name, so they survive reloads) and by each published plan (PlanApp::stats,
// PlanFrontend::stats). Thread: record_request and the FrontendCounters calls on the worker
// whose id is passed (ids below the slot count given at construction); record_budget and
// sum_into() on any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

#include "ferry/proxy/stats.h"
#include "limits/app_budget.h"

namespace ferry::proxy::stats {

// A monotonic (or, for gauges, up-and-down) value written by one thread only.
class Counter {
 public:
  void add(uint64_t v) { v_.store(v_.load(std::memory_order_relaxed) + v, std::memory_order_relaxed); }
  void sub(uint64_t v) { v_.store(v_.load(std::memory_order_relaxed) - v, std::memory_order_relaxed); }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// A monotonic value any thread may add to (a locked add): only for slow paths.
class SharedCounter {
 public:
  void add(uint64_t v) { v_.fetch_add(v, std::memory_order_relaxed); }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// Histogram over kDurationBuckets, per bucket (not cumulative; summing cumulates), plus the
// overflow (+Inf only) bucket and the sum in nanoseconds. C: Counter (one writer) or
// SharedCounter.
template <class C>
struct BasicHistogram {
  C buckets[kDurationBuckets.size() + 1];
  C sum_ns;
  void observe(std::chrono::nanoseconds d);
  void sum_into(Histogram& h) const;  // adds these counts into `h` (counts not cumulative yet)
};
using HistogramSlot = BasicHistogram<Counter>;
// Turns the per-bucket counts summed by sum_into() into Prometheus cumulative counts.
void finish_histogram(Histogram& h);

// 288 bytes, 320 with the alignment: per app and worker.
struct alignas(64) AppSlot {
  Counter requests[kStatsProtocols][kStatusClasses];
  HistogramSlot duration;
  Counter bytes_in, bytes_out;
};
static_assert(sizeof(AppSlot) == 320);

class AppCounters {
 public:
  explicit AppCounters(int workers);
  // One finished request (HTTP) or connection (TCP). `status` 0 = no response sent; TCP
  // connections are always counted as 0 ("none"), whatever their access-log status.
  void record_request(int worker, StatsProtocol proto, int status, uint64_t in, uint64_t out,
                      std::chrono::steady_clock::duration took);
  // The outcome of one AppBudget::acquire() that queued or was refused (`queued` as it
  // reported, `waited` since the call): queue_full / timed_out count as rejected; a request
  // that queued adds its wait. Any thread: these go to shared counters, as only the budget's
  // slow path (which takes its mutex anyway) gets here; a per-worker slot would cost 136
  // bytes per app and worker for a rare event.
  void record_budget(BudgetResult r, bool queued, std::chrono::steady_clock::duration waited);
  // A request a `rate-limit` rule refused (429). Any thread (a shared counter: a refusal is
  // not the hot path).
  void record_rate_limited() { rate_limited_.add(1); }
  // A request a basic-auth rule refused (401 or 503). Any thread (shared counters, as above).
  void record_auth_rejected(AuthRejection why) { auth_rejected_[static_cast<int>(why)].add(1); }
  // Scale-to-zero: a request starts / stops waiting for an autostarted instance; `served`:
  // one came in time. Any thread (shared counters: only requests that found no instance).
  void autostart_wait_begin() { autostart_waits_.add(1); }
  void autostart_wait_end(bool served) { (served ? autostart_served_ : autostart_failed_).add(1); }
  // Adds every slot into `out` (requests, duration, bytes, rejected, queue_wait); histograms
  // still need finish_histogram().
  void sum_into(AppStats& out) const;
  int slots() const { return n_; }

 private:
  int n_;
  std::unique_ptr<AppSlot[]> slots_;
  BasicHistogram<SharedCounter> queue_wait_;
  SharedCounter rejected_;
  SharedCounter rate_limited_;
  SharedCounter auth_rejected_[kAuthRejections];
  SharedCounter autostart_waits_, autostart_served_, autostart_failed_;
};

// Failed TLS handshakes by reason (the index of tls::HandshakeFailure).
inline constexpr int kTlsFailureReasons = 4;

struct alignas(64) FrontendSlot {
  Counter accepted;
  Counter active;  // opened - closed on this worker (a connection never changes worker)
  Counter tls_ok;
  Counter tls_failed[kTlsFailureReasons];
  Counter refused;
};

class FrontendCounters {
 public:
  explicit FrontendCounters(int workers);
  void accepted(int worker) { slot(worker).accepted.add(1); }
  // A downstream connection starts / ends being served under this frontend (a session moved to
  // another frontend object by a reload closes here and opens there).
  void opened(int worker) { slot(worker).active.add(1); }
  void closed(int worker) { slot(worker).active.sub(1); }
  void tls_ok(int worker) { slot(worker).tls_ok.add(1); }
  void tls_failed(int worker, int reason) { slot(worker).tls_failed[reason].add(1); }
  // A connection closed because its source is not allowed: a PROXY sender outside
  // `proxy-senders`, a backhaul source outside every peer's allowed-ips (at accept or when a
  // reload removed it).
  void refused(int worker) { slot(worker).refused.add(1); }
  // Fills connections_total, connections_active, tls_handshakes and tls_failures (every reason,
  // zeros included, in tls::HandshakeFailure order).
  void sum_into(FrontendStats& out) const;

 private:
  FrontendSlot& slot(int worker) { return slots_[worker < n_ ? worker : 0]; }
  int n_;
  std::unique_ptr<FrontendSlot[]> slots_;
};

}  // namespace ferry::proxy::stats
