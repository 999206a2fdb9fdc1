#pragma once
// MetricsText: Prometheus's text exposition format (version 0.0.4), what GET /metrics on
// the master and the workers answers. Each family is one "# HELP" line, one "# TYPE"
// line and its samples; label values and help texts are escaped as the format says.
//
// A small writer rather than prometheus-cpp (Debian's prometheus-cpp-dev): the daemons'
// figures already live in their own state, read once per scrape (Master::Snapshot, the
// worker's tables), so there is no registry of metric objects to keep in step, and no
// further run-time library in every image. Not thread-safe: build one per scrape.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kiln {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// The content type of the format.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

class MetricsText {
 public:
  // Starts family `name` ([a-zA-Z_:][a-zA-Z0-9_:]*, checked) of `type` ("counter",
  // "gauge" or "histogram").
  void Family(std::string_view name, std::string_view type, std::string_view help);
  // One sample of the current family: `name` is the family's, or with a histogram's
  // suffix (_bucket, _sum, _count).
  void Sample(std::string_view name, const MetricLabels& labels, double value);
  void Sample(std::string_view name, double value) { Sample(name, {}, value); }
  // A family of one sample without labels.
  void Gauge(std::string_view name, std::string_view help, double value);
  void Counter(std::string_view name, std::string_view help, double value);

  const std::string& text() const { return out_; }

 private:
  std::string out_;
};

// A cumulative histogram with fixed upper bounds (seconds), Prometheus's "le" buckets.
struct HistogramData {
  std::vector<double> bounds;     // ascending; +Inf is implicit
  std::vector<uint64_t> buckets;  // counts per bound (not cumulative), bounds.size() + 1
  double sum = 0;
  uint64_t count = 0;

  explicit HistogramData(std::vector<double> upper_bounds = {});
  void Observe(double value);
  // Writes name_bucket{...,le=...} (cumulative), name_sum and name_count.
  void Write(MetricsText* out, std::string_view name, const MetricLabels& labels) const;
};

}  // namespace kiln
