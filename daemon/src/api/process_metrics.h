// The standard Prometheus process metrics (process_cpu_seconds_total,
// process_resident_memory_bytes, ...) read from /proc/self. prometheus-cpp 1.0 has no process
// collector (the Go and Java clients do), so /metrics gets them from here.
// Thread: any; reads small /proc files (admin threads only, never a worker).
#pragma once

#include <prometheus/metric_family.h>

#include <vector>

namespace ferry::daemon {

// Appends the process_* families; a value whose /proc source cannot be read is left out.
void append_process_metrics(std::vector<prometheus::MetricFamily>& out);

}  // namespace ferry::daemon
