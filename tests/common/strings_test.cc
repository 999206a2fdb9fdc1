// String helpers (common/strings.h).
#include "common/strings.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "tests/kiln_catch.h"

namespace kiln {
namespace {

using Pieces = std::vector<std::string_view>;

TEST_CASE("strings: StrCat and StrAppend mix strings, characters, numbers and bools", "[strings]") {
  std::string s = "str";
  std::string_view v = "view";
  absl::string_view a("absl", 4);
  CHECK(StrCat("a", s, v, a, 'c', 42, -7, uint64_t{18446744073709551615u}, true, false) ==
        "astrviewabslc42-718446744073709551615truefalse");
  CHECK(StrCat(1.5, " ", 0.1) == "1.5 0.1");
  CHECK(StrCat() == "");
  std::string out = "x=";
  StrAppend(&out, 1, ",", std::string("two"));
  CHECK(out == "x=1,two");
}

TEST_CASE("strings: Split keeps or skips empty pieces", "[strings]") {
  CHECK(Split("a,b,c", ',') == Pieces{"a", "b", "c"});
  CHECK(Split("a,,b,", ',') == Pieces{"a", "", "b", ""});
  CHECK(Split("a,,b,", ',', true) == Pieces{"a", "b"});
  CHECK(Split("", ',') == Pieces{""});
  CHECK(Split("", ',', true).empty());
  CHECK(Split("abc", ',') == Pieces{"abc"});
  CHECK(Split(",", ',') == Pieces{"", ""});
}

TEST_CASE("strings: EscapeControl keeps text on one line", "[strings]") {
  CHECK(EscapeControl("plain text, ünïcode") == "plain text, ünïcode");
  CHECK(EscapeControl("a\nb\rc\td") == "a\\nb\\rc\\td");
  CHECK(EscapeControl(std::string("x\0y\x1b[31m\x7f", 9)) == "x\\x00y\\x1b[31m\\x7f");
  CHECK(EscapeControl("fake\n2026-12-03 I master worker registered").find('\n') ==
        std::string::npos);
}

TEST_CASE("strings: Join", "[strings]") {
  CHECK(Join({}, ",") == "");
  CHECK(Join({"a"}, ",") == "a");
  CHECK(Join({"a", "", "c"}, ", ") == "a, , c");
}

TEST_CASE("strings: StripWhitespace and ToLower", "[strings]") {
  CHECK(StripWhitespace("  a b \t\r\n") == "a b");
  CHECK(StripWhitespace("   ") == "");
  CHECK(StripWhitespace("") == "");
  CHECK(StripWhitespace("x") == "x");
  CHECK(ToLower("MiXeD 4G") == "mixed 4g");
}

TEST_CASE("strings: ParseNumber parses whole strings only", "[strings]") {
  int64_t i = 0;
  CHECK(ParseNumber("42", &i));
  CHECK(i == 42);
  CHECK(ParseNumber("-7", &i));
  CHECK(i == -7);
  CHECK(ParseNumber("9223372036854775807", &i));
  CHECK(i == INT64_MAX);
  CHECK_FALSE(ParseNumber("9223372036854775808", &i));
  CHECK_FALSE(ParseNumber("", &i));
  CHECK_FALSE(ParseNumber("12a", &i));
  CHECK_FALSE(ParseNumber(" 12", &i));
  CHECK_FALSE(ParseNumber("1.5", &i));

  uint8_t small = 0;
  CHECK(ParseNumber("255", &small));
  CHECK(small == 255);
  CHECK_FALSE(ParseNumber("256", &small));
  uint32_t u = 0;
  CHECK(ParseNumber("+5", &u));
  CHECK(u == 5);
  CHECK_FALSE(ParseNumber("-5", &u));

  double d = 0;
  CHECK(ParseNumber("1.5", &d));
  CHECK(d == 1.5);
  CHECK(ParseNumber("-2e3", &d));
  CHECK(d == -2000);
  CHECK_FALSE(ParseNumber("1.5x", &d));
}

TEST_CASE("strings: ParseBool", "[strings]") {
  bool b = false;
  for (const char* t : {"true", "TRUE", "1", "yes", " True "}) {
    INFO(t);
    b = false;
    CHECK(ParseBool(t, &b));
    CHECK(b);
  }
  for (const char* f : {"false", "False", "0", "no"}) {
    INFO(f);
    b = true;
    CHECK(ParseBool(f, &b));
    CHECK_FALSE(b);
  }
  CHECK_FALSE(ParseBool("", &b));
  CHECK_FALSE(ParseBool("maybe", &b));
  CHECK_FALSE(ParseBool("2", &b));
}

TEST_CASE("strings: View converts absl::string_view", "[strings]") {
  std::string s("a\0b", 3);
  absl::string_view a(s.data(), s.size());
  CHECK(View(a) == std::string_view(s));
  CHECK(View(a).size() == 3);
}

TEST_CASE("strings: JsonEscape escapes quotes, backslashes and control characters", "[strings]") {
  CHECK(JsonEscape("plain") == "plain");
  CHECK(JsonEscape("a\"b") == "a\\\"b");
  CHECK(JsonEscape("a\\b") == "a\\\\b");
  CHECK(JsonEscape("l1\nl2\r\t") == "l1\\nl2\\r\\t");
  CHECK(JsonEscape(std::string("\x01\x1f", 2)) == "\\u0001\\u001f");
  CHECK(JsonEscape(std::string("\0", 1)) == "\\u0000");
  CHECK(JsonEscape("caf\xc3\xa9") == "caf\xc3\xa9");  // UTF-8 passes through
}

}  // namespace
}  // namespace kiln
