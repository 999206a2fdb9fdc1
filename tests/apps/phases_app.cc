// phases_app OUTPUT: two jobs with idle time between, for dynamic allocation. The first
// job maps 16 partitions of 100 numbers, each task taking 400 ms, and sums them by
// x % 10 through a shuffle; it prints "first 10" (the keys). Then the driver idles, with
// no job, until the file OUTPUT.go exists (at most 120 s). The second job writes the
// sums ("key<TAB>sum" lines) from the same shuffle's map outputs. Each map task run
// appends a line to OUTPUT.runs, so a test can tell whether the second job ran the map
// stage again.

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "driver/kiln.h"

int main(int argc, char** argv) {
  kiln::Context ctx(argc, argv);
  if (argc != 2) return 2;
  std::array<char, 512> runs{};  // lambdas ship trivially copyable captures only
  (std::string(argv[1]) + ".runs").copy(runs.data(), runs.size() - 1);
  std::vector<int64_t> numbers(16 * 100);
  for (size_t i = 0; i < numbers.size(); ++i) numbers[i] = static_cast<int64_t>(i);
  auto sums = ctx.parallelize(numbers, 16)
                  .map([runs](int64_t x) {
                    if (x % 100 == 0) {  // a task's first record
                      std::this_thread::sleep_for(std::chrono::milliseconds(400));
                      const int fd = ::open(runs.data(), O_WRONLY | O_CREAT | O_APPEND, 0644);
                      if (fd >= 0) {
                        const std::string line = std::to_string(x / 100) + "\n";
                        (void)!::write(fd, line.data(), line.size());
                        ::close(fd);
                      }
                    }
                    return std::pair<int64_t, int64_t>(x % 10, x);
                  })
                  .reduce_by_key([](int64_t a, int64_t b) { return a + b; }, 4);
  std::printf("first %lld\n", static_cast<long long>(sums.count()));
  std::fflush(stdout);
  const std::string go = std::string(argv[1]) + ".go";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!std::filesystem::exists(go)) {
    if (std::chrono::steady_clock::now() > deadline) return 3;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  sums.map([](std::pair<int64_t, int64_t> kv) {
        return std::to_string(kv.first) + "\t" + std::to_string(kv.second);
      })
      .save_as_text_file(argv[1]);
  return 0;
}
