// Size and duration strings (common/units.h).
#include "common/units.h"

#include <chrono>
#include <string>

#include "common/strings.h"
#include "tests/kiln_catch.h"
#include "tests/support/test_util.h"

namespace kiln {
namespace {

using std::chrono::milliseconds;

constexpr int64_t kKiB = int64_t{1} << 10;
constexpr int64_t kMiB = int64_t{1} << 20;
constexpr int64_t kGiB = int64_t{1} << 30;
constexpr int64_t kTiB = int64_t{1} << 40;

using test::Message;

TEST_CASE("units: ParseBytes accepts sizes with every suffix", "[units]") {
  CHECK(ParseBytes("512m").value() == 512 * kMiB);
  CHECK(ParseBytes("4g").value() == 4 * kGiB);
  CHECK(ParseBytes("1024").value() == 1024);
  CHECK(ParseBytes("100b").value() == 100);
  CHECK(ParseBytes("0").value() == 0);
  CHECK(ParseBytes("1k").value() == kKiB);
  CHECK(ParseBytes("1kb").value() == kKiB);
  CHECK(ParseBytes("3mb").value() == 3 * kMiB);
  CHECK(ParseBytes("2gb").value() == 2 * kGiB);
  CHECK(ParseBytes("1t").value() == kTiB);
  CHECK(ParseBytes("1tb").value() == kTiB);
}

TEST_CASE("units: ParseBytes suffixes are case-insensitive and whitespace is trimmed", "[units]") {
  CHECK(ParseBytes("4G").value() == 4 * kGiB);
  CHECK(ParseBytes("512MB").value() == 512 * kMiB);
  CHECK(ParseBytes(" 8k ").value() == 8 * kKiB);
}

TEST_CASE("units: ParseBytes rejects malformed sizes naming the value", "[units]") {
  for (const char* bad : {"1x", "-1g", "", "g", "1.5g", "1 g", "0x10", "12gbytes", "+5m"}) {
    INFO("input: '" << bad << "'");
    absl::StatusOr<int64_t> r = ParseBytes(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(Message(r.status()).find(StrCat("'", bad, "'")) != std::string::npos);
  }
}

TEST_CASE("units: ParseBytes unknown unit error lists the valid units", "[units]") {
  absl::StatusOr<int64_t> r = ParseBytes("1x");
  REQUIRE_FALSE(r.ok());
  CHECK(Message(r.status()).find("unit") != std::string::npos);
  CHECK(Message(r.status()).find("512m") != std::string::npos);
}

TEST_CASE("units: ParseBytes rejects overflow instead of wrapping", "[units]") {
  CHECK(ParseBytes("9223372036854775807").value() == INT64_MAX);
  CHECK_FALSE(ParseBytes("9223372036854775808").ok());
  CHECK_FALSE(ParseBytes("99999999999999999999999").ok());
  CHECK_FALSE(ParseBytes("8388608t").ok());  // 2^23 TiB = 2^63 bytes
  CHECK(ParseBytes("8388607t").value() == 8388607 * kTiB);
  CHECK_FALSE(ParseBytes("9999999999g").ok());
}

TEST_CASE("units: ParseMemoryMb reads a bare number as MiB", "[units]") {
  CHECK(ParseMemoryMb("512").value() == 512);
  CHECK(ParseMemoryMb("512m").value() == 512);
  CHECK(ParseMemoryMb("4g").value() == 4096);
  CHECK(ParseMemoryMb("1t").value() == 1024 * 1024);
  CHECK(ParseMemoryMb("1048576k").value() == 1024);
  CHECK(ParseMemoryMb("2G").value() == 2048);
}

TEST_CASE("units: ParseMemoryMb rejects zero, sub-MiB, negative and junk", "[units]") {
  for (const char* bad : {"0", "0g", "512k", "100b", "1x", "-1g", "", "abc", "1.5g"}) {
    INFO("input: '" << bad << "'");
    absl::StatusOr<int64_t> r = ParseMemoryMb(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(Message(r.status()).find(StrCat("'", bad, "'")) != std::string::npos);
  }
  // A bare number is MiB, so overflow happens at a smaller number than for bytes.
  CHECK_FALSE(ParseMemoryMb("9223372036854775807").ok());
}

TEST_CASE("units: ParseDuration accepts every unit, and a bare number is seconds", "[units]") {
  CHECK(ParseDuration("30s").value() == milliseconds(30'000));
  CHECK(ParseDuration("500ms").value() == milliseconds(500));
  CHECK(ParseDuration("2min").value() == milliseconds(120'000));
  CHECK(ParseDuration("2m").value() == milliseconds(120'000));
  CHECK(ParseDuration("1h").value() == milliseconds(3'600'000));
  CHECK(ParseDuration("1d").value() == milliseconds(86'400'000));
  CHECK(ParseDuration("120").value() == milliseconds(120'000));
  CHECK(ParseDuration("0").value() == milliseconds(0));
  CHECK(ParseDuration("200MS").value() == milliseconds(200));
  CHECK(ParseDuration("1.5s").value() == milliseconds(1'500));
  CHECK(ParseDuration("0.25min").value() == milliseconds(15'000));
  CHECK(ParseDuration("2.5").value() == milliseconds(2'500));
}

TEST_CASE("units: ParseDuration rejects negative, sub-millisecond, unknown and overflowing values",
          "[units]") {
  for (const char* bad : {"-1s", "1.5ms", "0.0001s", ".5s", "1.2.3s", "5x", "", "s", "10 years",
                          "99999999999999999999d"}) {
    INFO("input: '" << bad << "'");
    absl::StatusOr<milliseconds> r = ParseDuration(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(Message(r.status()).find(StrCat("'", bad, "'")) != std::string::npos);
  }
  CHECK_FALSE(ParseDuration("9223372036854775807s").ok());
}

TEST_CASE("units: FormatBytes picks a binary unit", "[units]") {
  CHECK(FormatBytes(0) == "0 B");
  CHECK(FormatBytes(12) == "12 B");
  CHECK(FormatBytes(1023) == "1023 B");
  CHECK(FormatBytes(1024) == "1.0 KiB");
  CHECK(FormatBytes(1536) == "1.5 KiB");
  CHECK(FormatBytes(300 * kMiB) == "300.0 MiB");
  CHECK(FormatBytes(3 * kGiB / 2) == "1.5 GiB");
  CHECK(FormatBytes(2 * kTiB) == "2.0 TiB");
  CHECK(FormatBytes(2048 * kTiB) == "2048.0 TiB");
}

TEST_CASE("units: FormatMillis picks a unit people read", "[units]") {
  CHECK(FormatMillis(0) == "0 ms");
  CHECK(FormatMillis(74) == "74 ms");
  CHECK(FormatMillis(999) == "999 ms");
  CHECK(FormatMillis(1000) == "1.0 s");
  CHECK(FormatMillis(12345) == "12.3 s");
  CHECK(FormatMillis(90'000) == "1.5 min");
  CHECK(FormatMillis(7'200'000) == "2.0 h");
}

}  // namespace
}  // namespace kiln
