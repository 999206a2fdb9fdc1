// cache_app INPUT_DIR — a Kiln application for the caching tests
// (tests/jobs/cache_test.cc): caches the lines of INPUT_DIR, deletes INPUT_DIR, and
// computes from the cache alone:
//
//   first=<lines>           counted while caching
//   cached=<partitions cached>/<partitions>
//   words=<words> <distinct words> <sum of the lengths of the distinct words>
//   second=<lines>          counted again, from the cache only
//
// Then it unpersists the lines and counts once more: that job must fail (the input is
// gone), so the program exits 1 with the driver's error naming the missing file.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>

#include "driver/kiln.h"

int main(int argc, char** argv) {
  kiln::Context ctx(argc, argv);
  if (argc != 2) {
    std::fprintf(stderr, "usage: cache_app INPUT_DIR\n");
    return 2;
  }
  auto lines = ctx.text_file(argv[1]).cache();
  std::printf("first=%lld\n", static_cast<long long>(lines.count()));
  std::printf("cached=%d/%d\n", ctx.runner()->CachedPartitions(*lines.node()),
              lines.num_partitions());
  std::fflush(stdout);
  std::filesystem::remove_all(argv[1]);

  auto counts =
      lines
          .flat_map([](const std::string& line, kiln::Emit<std::pair<std::string, int64_t>>& out) {
            for (std::string_view w : kiln::Words(line)) out.emplace(std::string(w), 1);
          })
          .reduce_by_key([](int64_t a, int64_t b) { return a + b; })
          .collect();
  int64_t words = 0, lengths = 0;
  for (const auto& [word, n] : counts) {
    words += n;
    lengths += static_cast<int64_t>(word.size());
  }
  std::printf("words=%lld %zu %lld\n", static_cast<long long>(words), counts.size(),
              static_cast<long long>(lengths));
  std::printf("second=%lld\n", static_cast<long long>(lines.count()));
  std::fflush(stdout);

  lines.unpersist();
  std::printf("after_unpersist=%lld\n", static_cast<long long>(lines.count()));  // fails
  return 0;
}
