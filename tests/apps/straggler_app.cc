// straggler_app OUTPUT MARKER_DIR: one task far slower than its peers, for speculative
// execution. 8 partitions of 2000 numbers each are written as text (one number per
// line, doubled). Each record takes 0.25 ms, except in the first attempt of partition 3
// to start (the one that creates MARKER_DIR/slow first): 5 ms per record, 20 times its
// peers (10 s in all). That attempt creates MARKER_DIR/slow-done if it gets to its last
// record, so a test can tell whether it was stopped.

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "driver/kiln.h"

namespace {

constexpr int64_t kPerPartition = 2000;
constexpr int64_t kSlowPartition = 3;

bool CreateExclusive(const char* path) {
  const int fd = ::open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  kiln::Context ctx(argc, argv);
  if (argc != 3) return 2;
  std::array<char, 512> slow{}, done{};  // lambdas ship trivially copyable captures only
  (std::string(argv[2]) + "/slow").copy(slow.data(), slow.size() - 1);
  (std::string(argv[2]) + "/slow-done").copy(done.data(), done.size() - 1);
  std::vector<int64_t> numbers(8 * kPerPartition);
  for (size_t i = 0; i < numbers.size(); ++i) numbers[i] = static_cast<int64_t>(i);
  ctx.parallelize(numbers, 8)
      .map([slow, done](int64_t x) {
        // Whether the attempt running on this thread is the slow one: decided at its
        // partition's first record.
        thread_local bool slow_attempt = false;
        const bool in_slow_partition = x / kPerPartition == kSlowPartition;
        if (x == kSlowPartition * kPerPartition) slow_attempt = CreateExclusive(slow.data());
        const bool is_slow = in_slow_partition && slow_attempt;
        std::this_thread::sleep_for(std::chrono::microseconds(is_slow ? 5000 : 250));
        if (is_slow && x == (kSlowPartition + 1) * kPerPartition - 1) {
          CreateExclusive(done.data());
        }
        return std::to_string(2 * x);
      })
      .save_as_text_file(argv[1]);
  return 0;
}
