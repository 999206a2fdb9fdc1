#pragma once
// A checking reader of Prometheus's text exposition format, for tests of GET /metrics:
// every sample belongs to a family whose "# HELP" and "# TYPE" came first, no family is
// declared twice, values parse, and a histogram's buckets are cumulative, end with
// le="+Inf", and that bucket equals its _count. Not thread-safe.

#include <map>
#include <string>

#include "absl/status/statusor.h"

namespace kiln::test {

// Samples by their series as printed: `name` or `name{a="x",b="y"}`.
using MetricSamples = std::map<std::string, double>;

// The samples of `text`, or an error naming the line that breaks the format.
absl::StatusOr<MetricSamples> ParseMetrics(const std::string& text);

}  // namespace kiln::test
