// phases_app OUTPUT: two jobs with idle time between, for dynamic allocation. Each job
// runs 16 tasks of 100 numbers that take 400 ms each. The first counts the numbers
// and prints "first 1600"; then the driver idles, with no job, until the file
// OUTPUT.go exists (at most 120 s); the second writes 3x for each number, one per line.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "driver/kiln.h"

int main(int argc, char** argv) {
  kiln::Context ctx(argc, argv);
  if (argc != 2) return 2;
  std::vector<int64_t> numbers(16 * 100);
  for (size_t i = 0; i < numbers.size(); ++i) numbers[i] = static_cast<int64_t>(i);
  auto slow = [](int64_t x) {
    if (x % 100 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(400));
    return x;
  };
  std::printf("first %lld\n",
              static_cast<long long>(ctx.parallelize(numbers, 16).map(slow).count()));
  std::fflush(stdout);
  const std::string go = std::string(argv[1]) + ".go";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!std::filesystem::exists(go)) {
    if (std::chrono::steady_clock::now() > deadline) return 3;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ctx.parallelize(numbers, 16)
      .map(slow)
      .map([](int64_t x) { return std::to_string(3 * x); })
      .save_as_text_file(argv[1]);
  return 0;
}
