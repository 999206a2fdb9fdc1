// word_lengths INPUT OUTPUT: how many words of each length the text files at INPUT hold
// (words are maximal runs of bytes that are not ASCII whitespace). Writes
// "length<TAB>words" lines in OUTPUT, shortest first, and prints the most common length.
//
// A job built outside Kiln's tree (see CMakeLists.txt here): the same binary is the
// driver and, on a cluster, every executor.

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>

#include "driver/kiln.h"

int main(int argc, char** argv) {
  kiln::Context ctx(argc, argv);  // in an executor, this never returns
  if (argc != 3) {
    std::fprintf(stderr, "usage: word_lengths INPUT OUTPUT\n");
    return 2;
  }
  auto lengths =
      ctx.text_file(argv[1])
          .flat_map([](const std::string& line, kiln::Emit<std::pair<int64_t, int64_t>>& out) {
            for (std::string_view word : kiln::Words(line)) {
              out.emplace(static_cast<int64_t>(word.size()), 1);
            }
          })
          .reduce_by_key([](int64_t a, int64_t b) { return a + b; })
          .sort_by_key();
  lengths
      .map([](const std::pair<int64_t, int64_t>& kv) {
        return std::to_string(kv.first) + "\t" + std::to_string(kv.second);
      })
      .save_as_text_file(argv[2]);
  std::pair<int64_t, int64_t> top =
      lengths.reduce([](std::pair<int64_t, int64_t> a, std::pair<int64_t, int64_t> b) {
        return b.second > a.second || (b.second == a.second && b.first < a.first) ? b : a;
      });
  std::printf("most common length: %lld (%lld words)\n", static_cast<long long>(top.first),
              static_cast<long long>(top.second));
}
