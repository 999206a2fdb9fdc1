#include "tests/support/prometheus_text.h"

#include <cstdlib>
#include <cstring>
#include <set>
#include <sstream>

#include "common/strings.h"

namespace kiln::test {
namespace {

// `series` without its labels.
std::string BaseName(const std::string& series) { return series.substr(0, series.find('{')); }

// The series without its le label (for histogram buckets): name{a="x"} from
// name_bucket{a="x",le="1"}.
std::string WithoutLe(const std::string& series, std::string* le) {
  const size_t at = series.find("le=\"");
  if (at == std::string::npos) return series;
  const size_t end = series.find('"', at + 4);
  *le = series.substr(at + 4, end - at - 4);
  std::string out = series.substr(0, at) + series.substr(end + 1);
  size_t comma = out.find(",}");
  if (comma != std::string::npos) out.erase(comma, 1);
  size_t empty = out.find("{}");
  if (empty != std::string::npos) out.erase(empty, 2);
  return out;
}

}  // namespace

absl::StatusOr<MetricSamples> ParseMetrics(const std::string& text) {
  MetricSamples samples;
  std::map<std::string, std::string> types;  // family -> type
  std::set<std::string> helped;
  std::string current;  // the family being read
  // Histogram series (without le) -> last cumulative bucket, and whether +Inf was seen.
  std::map<std::string, double> last_bucket;
  std::map<std::string, double> inf_bucket;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(StrCat("line ", number, " '", line, "': ", why));
  };
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    if (line.starts_with("# HELP ")) {
      const std::string name = line.substr(7, line.find(' ', 7) - 7);
      if (!helped.insert(name).second) return bad("family described twice");
      current = name;
      continue;
    }
    if (line.starts_with("# TYPE ")) {
      std::istringstream words(line.substr(7));
      std::string name, type;
      words >> name >> type;
      if (name != current) return bad("TYPE of another family than its HELP");
      if (type != "counter" && type != "gauge" && type != "histogram") return bad("unknown type");
      if (!types.emplace(name, type).second) return bad("family typed twice");
      continue;
    }
    if (line.starts_with("#")) continue;
    const size_t space = line.rfind(' ');
    if (space == std::string::npos) return bad("no value");
    const std::string series = line.substr(0, space);
    const std::string value_text = line.substr(space + 1);
    char* end = nullptr;
    const double value = std::strtod(value_text.c_str(), &end);
    if (end == value_text.c_str() || *end != '\0') return bad("value does not parse");
    const std::string base = BaseName(series);
    std::string family = base;
    if (types.count(family) == 0) {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        if (base.ends_with(suffix)) family = base.substr(0, base.size() - std::strlen(suffix));
      }
    }
    if (family != current || types.count(family) == 0) return bad("sample outside its family");
    if (!samples.emplace(series, value).second) return bad("series twice");
    if (types[family] == "histogram" && base.ends_with("_bucket")) {
      std::string le;
      const std::string key = WithoutLe(series, &le);
      if (le.empty()) return bad("bucket without le");
      if (last_bucket.count(key) > 0 && value < last_bucket[key]) return bad("buckets decrease");
      last_bucket[key] = value;
      if (le == "+Inf") inf_bucket[key] = value;
    }
  }
  for (const auto& [bucket_key, inf] : inf_bucket) {
    // name_bucket{...} -> name_count{...}
    const std::string base = BaseName(bucket_key);
    const std::string count_key =
        base.substr(0, base.size() - 7) + "_count" + bucket_key.substr(base.size());
    if (samples.count(count_key) == 0 || samples[count_key] != inf) {
      return absl::InvalidArgumentError(StrCat(bucket_key, ": the +Inf bucket is not _count"));
    }
  }
  if (last_bucket.size() != inf_bucket.size()) {
    return absl::InvalidArgumentError("a histogram has no +Inf bucket");
  }
  return samples;
}

}  // namespace kiln::test
