// The allocator keeps large freed blocks for reuse, and gives them back when asked.
#include "runtime/allocator.h"

#include <cstdlib>
#include <cstring>
#include <string>

#include "tests/kiln_catch.h"

#ifdef KILN_WITH_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

namespace kiln::runtime {
namespace {

constexpr int64_t kMiB = 1 << 20;

int64_t Resident() {
  absl::StatusOr<int64_t> rss = ResidentBytesReleasing(INT64_MAX);  // never releases
  REQUIRE(rss.ok());
  return *rss;
}

#ifdef KILN_WITH_JEMALLOC
// While it lives, this thread's arena keeps every freed page until purged: jemalloc's
// decay would otherwise give some back on its own, at times of its choosing.
class NoDecay {
 public:
  NoDecay() {
    unsigned arena = 0;
    size_t size = sizeof(arena);
    REQUIRE(mallctl("thread.arena", &arena, &size, nullptr, 0) == 0);
    key_ = "arena." + std::to_string(arena) + ".dirty_decay_ms";
    size = sizeof(old_);
    ssize_t never = -1;
    REQUIRE(mallctl(key_.c_str(), &old_, &size, &never, sizeof(never)) == 0);
  }
  ~NoDecay() { mallctl(key_.c_str(), nullptr, nullptr, &old_, sizeof(old_)); }

 private:
  std::string key_;
  ssize_t old_ = 0;
};

TEST_CASE("allocator: Kiln's jemalloc keeps blocks of every size for reuse", "[allocator]") {
  CHECK(AllocatorKeepsLargeBlocks());
}
#else
struct NoDecay {};
#endif

TEST_CASE("allocator: a freed 64 MiB block is kept, and released past the threshold",
          "[allocator]") {
  NoDecay no_decay;
  const size_t bytes = 64 * kMiB;
  char* block = static_cast<char*>(std::malloc(bytes));
  REQUIRE(block != nullptr);
  std::memset(block, 1, bytes);
  CHECK(block[bytes / 2] == 1);  // the pages are used: the memset is not optimized away
  const int64_t held = Resident();
  std::free(block);
  if (AllocatorKeepsLargeBlocks()) {
    // Kept: the next block of its size costs no page faults.
    CHECK(Resident() > held - 16 * kMiB);
    char* again = static_cast<char*>(std::malloc(bytes));
    std::memset(again, 2, bytes);
    CHECK(again[bytes / 3] == 2);
    CHECK(Resident() < held + 16 * kMiB);
    std::free(again);
  }
  // Under the threshold nothing is released; over it, what is kept goes back.
  CHECK(*ResidentBytesReleasing(held + 64 * kMiB) > held - 64 * kMiB - 16 * kMiB);
  absl::StatusOr<int64_t> after = ResidentBytesReleasing(0);
  REQUIRE(after.ok());
  CHECK(*after < held - 48 * kMiB);
}

TEST_CASE("allocator: releasing starts at half the limit", "[allocator]") {
  CHECK(ReleaseThreshold(1000) == 500);
  CHECK(ReleaseThreshold(4LL << 30) == 2LL << 30);
}

}  // namespace
}  // namespace kiln::runtime
