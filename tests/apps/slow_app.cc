// slow_app OUTPUT [unsorted|cached]: a job slow enough to be hit by a fault while it
// runs. 16 map tasks each sleep 40 ms per 100 records, then a shuffle sums values per
// key; the output is "key<TAB>sum" lines, sorted by key across the part files, or with
// `unsorted` in the order reduce_by_key gives them. With `cached`, the sums are cached
// by a first job (a count), "cached" is printed, and the output is written (sorted)
// once the file OUTPUT.go exists, so that a test can break the cluster in between.
// With `stall`, the tasks that write the output wait for OUTPUT.go (at most 60 s): the
// output is half-written until then; `stall-pid` adds a third column to each line, the
// id of the process that wrote it (to tell which attempt's file was committed). `reuse` is `cached`
// without the cache (the second job reads the sums' shuffle files again); `disk` caches them with
// kDiskOnly.

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
  const std::string mode = argc == 3 ? argv[2] : "";
  const bool two_jobs = mode == "cached" || mode == "reuse" || mode == "disk";
  if (argc != 2 &&
      !(argc == 3 && (mode == "unsorted" || mode == "stall" || mode == "stall-pid" || two_jobs)))
    return 2;
  std::vector<int64_t> numbers(16 * 400);
  for (size_t i = 0; i < numbers.size(); ++i) numbers[i] = static_cast<int64_t>(i);
  auto sums = ctx.parallelize(numbers, 16)
                  .map([](int64_t x) {
                    if (x % 100 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(40));
                    return std::pair<int64_t, int64_t>(x % 97, x);
                  })
                  .reduce_by_key([](int64_t a, int64_t b) { return a + b; }, 4);
  auto to_line = [](std::pair<int64_t, int64_t> kv) {
    return std::to_string(kv.first) + "\t" + std::to_string(kv.second);
  };
  if (two_jobs) {
    if (mode == "cached") sums.cache();
    if (mode == "disk") sums.persist(kiln::StorageLevel::kDiskOnly);
    std::printf("cached %lld\n", static_cast<long long>(sums.count()));
    std::fflush(stdout);
    const std::string go = std::string(argv[1]) + ".go";
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!std::filesystem::exists(go)) {
      if (std::chrono::steady_clock::now() > deadline) return 3;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    sums.sort_by_key(true, 2).map(to_line).save_as_text_file(argv[1]);
  } else if (mode == "stall" || mode == "stall-pid") {
    std::array<char, 512> go{};  // lambdas ship trivially copyable captures only
    (std::string(argv[1]) + ".go").copy(go.data(), go.size() - 1);
    const bool pid = mode == "stall-pid";
    sums.map([go, pid, to_line](std::pair<int64_t, int64_t> kv) {
          auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
          while (!std::filesystem::exists(go.data()) &&
                 std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
          }
          return pid ? to_line(kv) + "\t" + std::to_string(getpid()) : to_line(kv);
        })
        .save_as_text_file(argv[1]);
  } else if (mode == "unsorted") {
    sums.map(to_line).save_as_text_file(argv[1]);
  } else {
    sums.sort_by_key(true, 2).map(to_line).save_as_text_file(argv[1]);
  }
  return 0;
}
