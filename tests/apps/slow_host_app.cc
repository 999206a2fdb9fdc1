// slow_host_app OUTPUT SLOW_DIR_PART: a job whose tasks run slowly on one worker only, for
// the job doctor's straggler finding. 12 partitions of 40 numbers are written as text,
// doubled. A record takes 10 ms in an executor whose stdout file (in its worker's work
// dir) has SLOW_DIR_PART in its path ("/worker-1/"), and 0.1 ms elsewhere.

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "driver/kiln.h"

namespace {

// Whether this process's stdout file has `part` in its path.
bool OnSlowWorker(const char* part) {
  std::array<char, 4096> path{};
  const ssize_t n = ::readlink("/proc/self/fd/1", path.data(), path.size() - 1);
  return n > 0 && std::string(path.data(), static_cast<size_t>(n)).find(part) != std::string::npos;
}

}  // namespace

int main(int argc, char** argv) {
  kiln::Context ctx(argc, argv);
  if (argc != 3) return 2;
  std::array<char, 256> part{};  // lambdas ship trivially copyable captures only
  std::string(argv[2]).copy(part.data(), part.size() - 1);
  // Waits for every executor the master granted, so that the slow one gets tasks too.
  ctx.default_parallelism();
  std::vector<int64_t> numbers(12 * 40);
  for (size_t i = 0; i < numbers.size(); ++i) numbers[i] = static_cast<int64_t>(i);
  ctx.parallelize(numbers, 12)
      .map([part](int64_t x) {
        static const bool slow = OnSlowWorker(part.data());
        std::this_thread::sleep_for(std::chrono::microseconds(slow ? 10000 : 100));
        return std::to_string(2 * x);
      })
      .save_as_text_file(argv[1]);
  return 0;
}
