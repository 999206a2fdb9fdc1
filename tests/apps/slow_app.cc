// slow_app OUTPUT [unsorted]: a job slow enough to be hit by a fault while it runs. 16
// map tasks each sleep 40 ms per 100 records, then a shuffle sums values per key; the
// output is "key<TAB>sum" lines, sorted by key across the part files, or with
// `unsorted` in the order reduce_by_key gives them.

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "driver/kiln.h"

int main(int argc, char** argv) {
  kiln::Context ctx(argc, argv);
  if (argc != 2 && !(argc == 3 && std::string(argv[2]) == "unsorted")) return 2;
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
  if (argc == 3) {
    sums.map(to_line).save_as_text_file(argv[1]);
  } else {
    sums.sort_by_key(true, 2).map(to_line).save_as_text_file(argv[1]);
  }
  return 0;
}
