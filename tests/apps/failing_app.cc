// failing_app MODE — a Kiln application for the job tests (tests/jobs/failure_test.cc).
//
//   MODE=throw  a job whose map throws std::runtime_error("boom at record 42") on the
//               record 42 (of 0..99, in 4 partitions): the job must fail, the driver
//               report the task's message with the executor and host it ran on, and
//               exit non-zero.
//   MODE=ok     the same job without the throw: prints "count=100" and exits 0.
//   MODE=collect  collects 100 records of 100 KiB (10,000 KiB of results): prints
//               "collected=100" unless kiln.driver.maxResultSize stops it.
//   MODE=hog    a task that allocates and touches 2 GiB on record 42, past any test
//               executor's memory limit: the worker must kill its executor.

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "driver/kiln.h"

int main(int argc, char** argv) {
  kiln::Context ctx(argc, argv);
  const std::string mode = argc == 2 ? argv[1] : "";
  if (mode != "throw" && mode != "ok" && mode != "collect" && mode != "hog") {
    std::fprintf(stderr, "usage: failing_app throw|ok|collect|hog\n");
    return 2;
  }
  const bool fail = mode == "throw";  // captured by value: decides on the executors
  const bool hog = mode == "hog";
  std::vector<int64_t> records(100);
  std::iota(records.begin(), records.end(), 0);
  if (mode == "collect") {
    std::vector<std::string> big =
        ctx.parallelize(records, 4)
            .map([](int64_t x) { return std::string(100 << 10, 'a' + x % 26); })
            .collect();
    std::printf("collected=%zu\n", big.size());
    return 0;
  }
  int64_t n = ctx.parallelize(records, 4)
                  .map([fail, hog](int64_t x) {
                    if (fail && x == 42) throw std::runtime_error("boom at record 42");
                    if (hog && x == 42) {
                      std::vector<char> block(size_t{2} << 30);
                      std::memset(block.data(), 1, block.size());  // touched: resident
                      return static_cast<int64_t>(block[x]) + x;
                    }
                    return x * 2;
                  })
                  .count();
  std::printf("count=%lld\n", static_cast<long long>(n));
  return 0;
}
