#include "common/words.h"

#include <string>
#include <string_view>
#include <vector>

#include "tests/kiln_catch.h"

namespace kiln {
namespace {

std::vector<std::string> All(std::string_view text) {
  std::vector<std::string> out;
  for (std::string_view w : Words(text)) out.emplace_back(w);
  return out;
}

TEST_CASE("words: maximal runs of non-whitespace bytes", "[words]") {
  CHECK(All("").empty());
  CHECK(All(" \t\n\v\f\r").empty());
  CHECK(All("one") == std::vector<std::string>{"one"});
  CHECK(All("  two words  ") == std::vector<std::string>{"two", "words"});
  CHECK(All("a\tb\nc\vd\fe\rf g") == std::vector<std::string>{"a", "b", "c", "d", "e", "f", "g"});
  // Only ASCII whitespace separates: punctuation, NUL and bytes >= 0x80 are word bytes.
  CHECK(All(std::string("x,y\0z \xc3\xa9t\xc3\xa9", 11)) ==
        std::vector<std::string>{std::string("x,y\0z", 5), "\xc3\xa9t\xc3\xa9"});
}

TEST_CASE("words: views point into the text", "[words]") {
  std::string text = "ab cd";
  std::vector<const char*> starts;
  for (std::string_view w : Words(text)) starts.push_back(w.data());
  CHECK(starts == std::vector<const char*>{text.data(), text.data() + 3});
}

}  // namespace
}  // namespace kiln
