#include "common/units.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>

#include "common/strings.h"

namespace kiln {
namespace {

// Splits "512m" into 512 and "m". Fails on anything but digits followed by letters.
absl::Status SplitNumber(std::string_view text, int64_t* number, std::string* suffix) {
  std::string_view t = StripWhitespace(text);
  size_t i = 0;
  while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i;
  if (i == 0) {
    return absl::InvalidArgumentError(StrCat("'", text, "' is not a positive number"));
  }
  uint64_t value = 0;
  if (!ParseNumber(t.substr(0, i), &value) ||
      value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return absl::InvalidArgumentError(StrCat("'", text, "' is out of range"));
  }
  *number = static_cast<int64_t>(value);
  *suffix = ToLower(t.substr(i));
  return absl::OkStatus();
}

absl::StatusOr<int64_t> Scale(std::string_view text, int64_t number, int64_t unit) {
  if (number > std::numeric_limits<int64_t>::max() / unit) {
    return absl::InvalidArgumentError(StrCat("'", text, "' is out of range"));
  }
  return number * unit;
}

absl::StatusOr<int64_t> BytesWithDefaultUnit(std::string_view text, int64_t default_unit) {
  int64_t number = 0;
  std::string suffix;
  absl::Status s = SplitNumber(text, &number, &suffix);
  if (!s.ok()) return s;
  int64_t unit;
  if (suffix.empty())
    unit = default_unit;
  else if (suffix == "b")
    unit = 1;
  else if (suffix == "k" || suffix == "kb")
    unit = int64_t{1} << 10;
  else if (suffix == "m" || suffix == "mb")
    unit = int64_t{1} << 20;
  else if (suffix == "g" || suffix == "gb")
    unit = int64_t{1} << 30;
  else if (suffix == "t" || suffix == "tb")
    unit = int64_t{1} << 40;
  else {
    return absl::InvalidArgumentError(StrCat("'", text, "' has an unknown size unit '", suffix,
                                             "' (use b, k, m, g or t, e.g. 512m or 4g)"));
  }
  return Scale(text, number, unit);
}

}  // namespace

absl::StatusOr<int64_t> ParseBytes(std::string_view text) { return BytesWithDefaultUnit(text, 1); }

absl::StatusOr<int64_t> ParseMemoryMb(std::string_view text) {
  absl::StatusOr<int64_t> bytes = BytesWithDefaultUnit(text, int64_t{1} << 20);
  if (!bytes.ok()) return bytes;
  if (*bytes < (int64_t{1} << 20)) {
    return absl::InvalidArgumentError(StrCat("'", text, "' is less than 1 MiB of memory"));
  }
  return *bytes >> 20;
}

absl::StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  // A whole or decimal number ("1.5s"), then the unit.
  std::string_view t = StripWhitespace(text);
  size_t i = 0;
  while (i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) || t[i] == '.')) ++i;
  double number = 0;
  if (i == 0 || t[0] == '.' || !ParseNumber(t.substr(0, i), &number)) {
    return absl::InvalidArgumentError(StrCat("'", text, "' is not a positive number"));
  }
  const std::string suffix = ToLower(t.substr(i));
  int64_t unit_ms;
  if (suffix == "ms")
    unit_ms = 1;
  else if (suffix.empty() || suffix == "s")
    unit_ms = 1000;
  else if (suffix == "m" || suffix == "min")
    unit_ms = 60'000;
  else if (suffix == "h")
    unit_ms = 3'600'000;
  else if (suffix == "d")
    unit_ms = 86'400'000;
  else {
    return absl::InvalidArgumentError(StrCat("'", text, "' has an unknown time unit '", suffix,
                                             "' (use ms, s, m or min, h or d, e.g. 30s)"));
  }
  const double ms = number * static_cast<double>(unit_ms);
  if (ms > 9.2e18) return absl::InvalidArgumentError(StrCat("'", text, "' is out of range"));
  const double whole = std::round(ms);
  if (std::abs(ms - whole) > 1e-6) {
    return absl::InvalidArgumentError(StrCat("'", text, "' is not a whole number of milliseconds"));
  }
  return std::chrono::milliseconds(static_cast<int64_t>(whole));
}

std::string FormatMib(int64_t mib) { return FormatBytes(mib << 20); }

std::string FormatMillis(int64_t ms) {
  if (ms < 1000) return StrCat(ms, " ms");
  const double seconds = static_cast<double>(ms) / 1000;
  char buf[32];
  if (seconds < 60) {
    std::snprintf(buf, sizeof(buf), "%.1f s", seconds);
  } else if (seconds < 3600) {
    std::snprintf(buf, sizeof(buf), "%.1f min", seconds / 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f h", seconds / 3600);
  }
  return buf;
}

std::string FormatBytes(int64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return StrCat(bytes, " B");
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f %s", value, kUnits[unit]);
  return buf;
}

}  // namespace kiln
