#pragma once
// Parsing and printing of the size and duration strings used by flags and settings.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace kiln {

// Parses a size such as "512m", "4g", "1024k", "100b" or "300" (bytes, as Spark's
// byte strings: suffixes b, k/kb, m/mb, g/gb, t/tb, case-insensitive, powers of 1024).
// Rejects empty, negative, fractional and unknown-suffix values.
absl::StatusOr<int64_t> ParseBytes(std::string_view text);

// As ParseBytes, but a bare number means mebibytes: Spark's convention for memory
// flags such as --executor-memory 512 (= 512m).
absl::StatusOr<int64_t> ParseMemoryMb(std::string_view text);

// Parses a duration such as "30s", "1.5s", "500ms", "2min" (or "2m"), "1h", "1d" or "120"
// (a bare number is seconds); a fraction must come to whole milliseconds. Rejects
// negative values and unknown units.
absl::StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text);

// "1.5 GiB", "300.0 MiB", "12 B".
std::string FormatBytes(int64_t bytes);
// The same for a size in MiB (as /json and the settings hold memory): "1.5 GiB".
std::string FormatMib(int64_t mib);
// A duration for people: "74 ms", "12.3 s", "4.5 min", "2.0 h".
std::string FormatMillis(int64_t ms);

}  // namespace kiln
