#include "common/words.h"

#include <cstdint>
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

// Long texts cross the 16-byte blocks of the SSE2 scan at every offset: the words must
// be those of a byte-at-a-time reference, for every byte value as separator or not.
TEST_CASE("words: long texts agree with a byte-by-byte reference", "[words]") {
  uint64_t x = 0x2545f4914f6cdd1dULL;
  for (int round = 0; round < 200; ++round) {
    std::string text;
    const size_t length = 1 + round * 7 % 300;
    for (size_t i = 0; i < length; ++i) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      // Mostly letters, often whitespace, sometimes any byte (0..255).
      const int kind = static_cast<int>(x % 10);
      const char c = kind < 6   ? static_cast<char>('a' + (x >> 8) % 26)
                     : kind < 9 ? " \t\n\v\f\r"[(x >> 8) % 6]
                                : static_cast<char>((x >> 8) & 0xff);
      text.push_back(c);
    }
    std::vector<std::string> expected;
    std::string word;
    for (char c : text) {
      const unsigned char u = static_cast<unsigned char>(c);
      if (u == ' ' || (u >= 9 && u <= 13)) {
        if (!word.empty()) expected.push_back(word);
        word.clear();
      } else {
        word.push_back(c);
      }
    }
    if (!word.empty()) expected.push_back(word);
    INFO("round " << round);
    CHECK(All(text) == expected);
  }
}

}  // namespace
}  // namespace kiln
