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
//   MODE=spillhog  a sort of 3M records into one partition (it spills in a 512m
//               executor), then a map that grows by 32 MiB every 100 ms from the first
//               sorted record on, until its executor is killed.
//   MODE=exit|exit0|abort|segv  a map that ends its own executor on record 42 every
//               time (_Exit(9), exit(0), abort(), a SIGSEGV), after a line on stderr: the
//               job must fail after kiln.task.maxFailures, naming the partition and the
//               exit.
//   MODE=exitonce MARKER  the same _Exit(9), only while the file MARKER does not exist
//               (the task creates it first): the retry succeeds, "count=100".
//
// With KILN_TEST_EXECUTORS_FAIL_AT_START set in the workers' environment, its executors
// exit with code 3 before they reach the driver (as when kiln.driver.host is wrong).

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "driver/kiln.h"

namespace {

std::vector<int64_t> records_of(int64_t n) {
  std::vector<int64_t> records(static_cast<size_t>(n));
  std::iota(records.begin(), records.end(), 0);
  return records;
}

enum class Crash { kExit, kExit0, kAbort, kSegv, kExitOnce };
using Path = std::array<char, 256>;  // a lambda ships trivially copyable captures only

// Ends this process as `crash` says; kExitOnce only when it can create `marker`.
void CrashOnce(Crash crash, const Path& marker) {
  if (crash == Crash::kExitOnce) {
    int fd = open(marker.data(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) return;  // crashed once already
    close(fd);
  }
  std::fprintf(stderr, "failing_app: crashing on record 42\n");
  std::fflush(stderr);
  if (crash == Crash::kAbort) std::abort();
  if (crash == Crash::kSegv) std::raise(SIGSEGV);
  if (crash == Crash::kExit0) std::exit(0);
  std::_Exit(9);
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--kiln-executor") == 0 &&
        std::getenv("KILN_TEST_EXECUTORS_FAIL_AT_START") != nullptr) {
      std::fprintf(stderr,
                   "failing_app: this executor cannot start "
                   "(KILN_TEST_EXECUTORS_FAIL_AT_START)\n");
      return 3;
    }
  }
  kiln::Context ctx(argc, argv);
  const std::string mode = argc >= 2 ? argv[1] : "";
  const std::string marker = argc == 3 ? argv[2] : "";
  const bool crash = mode == "exit" || mode == "exit0" || mode == "abort" || mode == "segv";
  if ((argc != 2 || (mode != "throw" && mode != "ok" && mode != "collect" && mode != "hog" &&
                     mode != "spillhog" && !crash)) &&
      (argc != 3 || mode != "exitonce")) {
    std::fprintf(stderr,
                 "usage: failing_app throw|ok|collect|hog|spillhog|exit|exit0|abort|segv, "
                 "or failing_app exitonce MARKER\n");
    return 2;
  }
  if (crash || mode == "exitonce") {
    const Crash how = mode == "exit"    ? Crash::kExit
                      : mode == "exit0" ? Crash::kExit0
                      : mode == "abort" ? Crash::kAbort
                      : mode == "segv"  ? Crash::kSegv
                                        : Crash::kExitOnce;
    Path path{};
    marker.copy(path.data(), path.size() - 1);
    int64_t n = ctx.parallelize(records_of(100), 4)
                    .map([how, path](int64_t x) {
                      if (x == 42) CrashOnce(how, path);
                      return x * 2;
                    })
                    .count();
    std::printf("count=%lld\n", static_cast<long long>(n));
    return 0;
  }
  const bool fail = mode == "throw";  // captured by value: decides on the executors
  const bool hog = mode == "hog";
  const std::vector<int64_t> records = records_of(100);
  if (mode == "collect") {
    std::vector<std::string> big =
        ctx.parallelize(records, 4)
            .map([](int64_t x) { return std::string(100 << 10, 'a' + x % 26); })
            .collect();
    std::printf("collected=%zu\n", big.size());
    return 0;
  }
  if (mode == "spillhog") {
    int64_t n =
        ctx.parallelize(records, 2)
            .flat_map([](int64_t x, kiln::Emit<std::pair<std::string, int64_t>>& out) {
              for (int64_t i = 0; i < 30'000; ++i) {
                out.emplace(
                    std::to_string((x * 30'000 + i) * 7919 % 3'000'017) + std::string(40, 'k'), i);
              }
            })
            .sort_by_key(true, 1)
            .map([](const std::pair<std::string, int64_t>& kv) {
              static std::vector<std::vector<char>> held;
              while (held.size() < 64) {  // 2 GiB at the most, slowly
                held.emplace_back(size_t{32} << 20, 1);
                usleep(100'000);
              }
              return kv.second;
            })
            .count();
    std::printf("count=%lld\n", static_cast<long long>(n));
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
