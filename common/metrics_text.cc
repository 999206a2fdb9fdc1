#include "common/metrics_text.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "common/check.h"
#include "common/strings.h"

namespace kiln {
namespace {

bool IsMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// `quote`: a label value (escapes '"' too); else a help text.
void AppendEscaped(std::string* out, std::string_view text, bool quote) {
  for (char c : text) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\n') {
      out->append("\\n");
    } else if (quote && c == '"') {
      out->append("\\\"");
    } else {
      out->push_back(c);
    }
  }
}

void AppendValue(std::string* out, double value) {
  if (std::isnan(value)) {
    out->append("NaN");
  } else if (std::isinf(value)) {
    out->append(value > 0 ? "+Inf" : "-Inf");
  } else if (value == std::floor(value) && std::fabs(value) < 1e15) {
    StrAppend(out, static_cast<int64_t>(value));
  } else {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.15g", value);  // short, unless that loses bits
    if (std::strtod(buf, nullptr) != value) std::snprintf(buf, sizeof(buf), "%.17g", value);
    out->append(buf);
  }
}

}  // namespace

void MetricsText::Family(std::string_view name, std::string_view type, std::string_view help) {
  KILN_CHECK(IsMetricName(name), "metric name");
  StrAppend(&out_, "# HELP ", name, " ");
  AppendEscaped(&out_, help, /*quote=*/false);
  StrAppend(&out_, "\n# TYPE ", name, " ", type, "\n");
}

void MetricsText::Sample(std::string_view name, const MetricLabels& labels, double value) {
  KILN_CHECK(IsMetricName(name), "metric name");
  out_.append(name);
  if (!labels.empty()) {
    out_.push_back('{');
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) out_.push_back(',');
      StrAppend(&out_, labels[i].first, "=\"");
      AppendEscaped(&out_, labels[i].second, /*quote=*/true);
      out_.push_back('"');
    }
    out_.push_back('}');
  }
  out_.push_back(' ');
  AppendValue(&out_, value);
  out_.push_back('\n');
}

void MetricsText::Gauge(std::string_view name, std::string_view help, double value) {
  Family(name, "gauge", help);
  Sample(name, value);
}

void MetricsText::Counter(std::string_view name, std::string_view help, double value) {
  Family(name, "counter", help);
  Sample(name, value);
}

HistogramData::HistogramData(std::vector<double> upper_bounds)
    : bounds(std::move(upper_bounds)), buckets(bounds.size() + 1, 0) {}

void HistogramData::Observe(double value) {
  size_t i = 0;
  while (i < bounds.size() && value > bounds[i]) ++i;
  ++buckets[i];
  sum += value;
  ++count;
}

void HistogramData::Write(MetricsText* out, std::string_view name,
                          const MetricLabels& labels) const {
  const std::string bucket = StrCat(name, "_bucket");
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds.size(); ++i) {
    cumulative += buckets[i];
    MetricLabels with_le = labels;
    std::string le;
    if (i < bounds.size()) {
      AppendValue(&le, bounds[i]);
    } else {
      le = "+Inf";
    }
    with_le.emplace_back("le", le);
    out->Sample(bucket, with_le, static_cast<double>(cumulative));
  }
  out->Sample(StrCat(name, "_sum"), labels, sum);
  out->Sample(StrCat(name, "_count"), labels, static_cast<double>(count));
}

}  // namespace kiln
