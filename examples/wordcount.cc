// wordcount INPUT OUTPUT
//
// Counts the words of a text file (or a directory of them) and writes "word<TAB>count"
// lines to the new directory OUTPUT, then prints the 10 most frequent words. A word is a
// maximal run of bytes that are not ASCII whitespace (space, \t, \n, \v, \f, \r);
// words are case-sensitive.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "driver/kiln.h"

namespace {

using WordCount = std::pair<std::string, int64_t>;

// Most frequent first; ties by word, so the order is the same on every run.
bool MoreFrequent(const WordCount& a, const WordCount& b) {
  return a.second != b.second ? a.second > b.second : a.first < b.first;
}

}  // namespace

int main(int argc, char** argv) {
  kiln::RunIfExecutor(argc, argv);  // an executor never returns from here
  if (argc != 3) {
    std::fprintf(stderr, "usage: wordcount INPUT OUTPUT\n");
    return 2;
  }
  kiln::Context ctx(argc, argv);
  auto counts = ctx.text_file(argv[1])
                    .flat_map([](const std::string& line, kiln::Emit<WordCount>& out) {
                      for (std::string_view word : kiln::Words(line)) out.emplace(word, 1);
                    })
                    .reduce_by_key([](int64_t a, int64_t b) { return a + b; });

  counts.map([](WordCount wc) { return wc.first + "\t" + std::to_string(wc.second); })
      .save_as_text_file(argv[2]);

  // Each partition keeps its own top 10; the driver merges them.
  std::vector<WordCount> top =
      counts
          .map_partitions([](std::vector<WordCount> part) {
            size_t k = std::min<size_t>(10, part.size());
            std::partial_sort(part.begin(), part.begin() + k, part.end(), MoreFrequent);
            part.resize(k);
            return part;
          })
          .collect();
  std::sort(top.begin(), top.end(), MoreFrequent);
  if (top.size() > 10) top.resize(10);
  for (const WordCount& wc : top)
    std::printf("%s\t%lld\n", wc.first.c_str(), static_cast<long long>(wc.second));
  return 0;
}
