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

// Long texts cross the 16- and 64-byte blocks of the scan at every offset, with words
// shorter than a block and words spanning several: the words must be those of a
// byte-at-a-time reference, for every byte value as separator or not, in texts that
// are views into the middle of a larger buffer.
TEST_CASE("words: long texts agree with a byte-by-byte reference", "[words]") {
  uint64_t x = 0x2545f4914f6cdd1dULL;
  for (int round = 0; round < 3000; ++round) {
    std::string buffer;
    const size_t length = round * 7 % 400;
    // Whitespace in one byte of 3, of 10, of 60 or of 400.
    const uint64_t space_one_in = std::vector<uint64_t>{3, 10, 60, 400}[round % 4];
    for (size_t i = 0; i < length + 40; ++i) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      // Letters, whitespace, sometimes any byte (0..255).
      const char c = x % space_one_in == 0 ? " \t\n\v\f\r"[(x >> 8) % 6]
                     : x % 17 == 1         ? static_cast<char>((x >> 8) & 0xff)
                                           : static_cast<char>('a' + (x >> 8) % 26);
      buffer.push_back(c);
    }
    const std::string_view text = std::string_view(buffer).substr(round % 40, length);
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
