// persist/cache in local mode, in this process: a counter in the user function shows
// which partitions were computed and which were read from the block store.

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "driver/kiln.h"
#include "tests/driver/local_test_util.h"
#include "tests/kiln_catch.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

std::atomic<int64_t> g_calls{0};

using test::Local;
using test::Range;

// A local[1] application with 3 MiB of managed memory ((450 MiB - 300 MiB) * 0.02), all
// of it storage's while no task holds execution memory, and datasets whose records
// count their computations in g_calls.
struct SmallStorage {
  explicit SmallStorage(const char* name)
      : ctx(ContextOptions{.master = "local[1]",
                           .app_name = name,
                           .conf = {"kiln.ui.showConsoleProgress=false", "kiln.driver.memory=450m",
                                    "kiln.memory.fraction=0.02"},
                           .exit_on_failure = false}) {}
  // 0..n-1 in `partitions` partitions, 8 bytes a record.
  Dataset<int64_t> Counted(int64_t n, int partitions) {
    return ctx.parallelize(Range(n), partitions).map([](int64_t x) {
      ++g_calls;
      return x;
    });
  }
  Context ctx;
};

template <class T>
int Cached(Context& ctx, const Dataset<T>& ds) {
  return ctx.runner()->CachedPartitions(*ds.node());
}

TEST_CASE("local cache: a cached dataset is computed once, until unpersisted", "[local][cache]") {
  g_calls = 0;
  auto squares = Local().parallelize(Range(1000), 4).map([](int64_t x) {
    ++g_calls;
    return x * x;
  });
  CHECK_FALSE(squares.is_cached());
  squares.cache();
  CHECK(squares.is_cached());
  CHECK(squares.count() == 1000);
  CHECK(g_calls == 1000);
  CHECK(Cached(Local(), squares) == 4);
  // Later jobs read the blocks, through further operators and a shuffle too.
  std::vector<int64_t> all = squares.collect();
  REQUIRE(all.size() == 1000);
  CHECK(all[999] == 999 * 999);
  auto odd = squares.filter([](int64_t x) { return x % 2 == 1; }).count();
  CHECK(odd == 500);
  auto by_last_digit = squares.map([](int64_t x) { return std::pair<int64_t, int64_t>(x % 10, 1); })
                           .reduce_by_key([](int64_t a, int64_t b) { return a + b; }, 3)
                           .collect();
  int64_t total = 0;
  for (auto& [digit, n] : by_last_digit) total += n;
  CHECK(total == 1000);
  CHECK(g_calls == 1000);
  // Unpersisted: the blocks are gone and every job computes again.
  squares.unpersist();
  CHECK_FALSE(squares.is_cached());
  CHECK(Cached(Local(), squares) == 0);
  CHECK(squares.count() == 1000);
  CHECK(g_calls == 2000);
}

TEST_CASE("local cache: cached input outlives its file, and unpersisted, the job fails on the file",
          "[local][cache]") {
  char templ[] = "/tmp/kiln-cache-test-XXXXXX";
  std::string dir = mkdtemp(templ);
  std::string path = dir + "/input.txt";
  {
    std::ofstream out(path);
    for (int i = 0; i < 500; ++i) out << "line " << i << "\n";
  }
  auto lines = Local().text_file(path).cache();
  CHECK(lines.count() == 500);
  fs::remove_all(dir);
  CHECK(lines.count() == 500);
  CHECK(lines.map([](const std::string& s) { return static_cast<int64_t>(s.size()); })
            .reduce([](int64_t a, int64_t b) { return a + b; }) > 0);
  lines.unpersist();
  CHECK_THROWS_AS(lines.count(), JobFailed);
}

TEST_CASE("local cache: a cached shuffled dataset and cached coalesced partitions",
          "[local][cache]") {
  g_calls = 0;
  auto pairs = Local().parallelize(Range(2000), 4).map([](int64_t x) {
    return std::pair<int64_t, int64_t>(x % 50, x);
  });
  auto sums = pairs.reduce_by_key([](int64_t a, int64_t b) { return a + b; }, 3)
                  .map([](std::pair<int64_t, int64_t> kv) {
                    ++g_calls;
                    return kv;
                  });
  sums.cache();
  std::vector<std::pair<int64_t, int64_t>> first = sums.collect();
  CHECK(g_calls == 50);
  CHECK(sums.collect() == first);  // the same records in the same order
  CHECK(g_calls == 50);
  // A coalesce over the cached dataset reads the cached blocks of its parents.
  auto merged = sums.coalesce(2);
  CHECK(merged.count() == 50);
  CHECK(g_calls == 50);
  // A cached coalesced dataset.
  auto narrowed = Local()
                      .parallelize(Range(100), 6)
                      .map([](int64_t x) {
                        ++g_calls;
                        return x;
                      })
                      .coalesce(2)
                      .cache();
  g_calls = 0;
  CHECK(narrowed.collect() == Range(100));
  CHECK(narrowed.collect() == Range(100));
  CHECK(g_calls == 100);
  CHECK(Cached(Local(), narrowed) == 2);
  sums.unpersist();
  narrowed.unpersist();
}

TEST_CASE("local cache: storage memory is a budget, and the least recently used dataset gives way",
          "[local][cache]") {
  SmallStorage small("local-cache-small");
  Context& ctx = small.ctx;
  auto counted = [&](int64_t n, int partitions) { return small.Counted(n, partitions); };
  // 1M records (8 MB) do not fit: nothing is cached, the results are still right.
  g_calls = 0;
  auto big = counted(1'000'000, 2).cache();
  CHECK(big.count() == 1'000'000);
  CHECK(Cached(ctx, big) == 0);
  CHECK(big.count() == 1'000'000);
  CHECK(g_calls == 2'000'000);
  big.unpersist();

  // Two datasets of 2 blocks of about 0.8 MB each: the second one's blocks evict the
  // first one's least recently used block.
  auto a = counted(200'000, 2).cache();
  auto b = counted(200'000, 2).cache();
  CHECK(a.count() == 200'000);
  CHECK(Cached(ctx, a) == 2);
  CHECK(b.count() == 200'000);
  CHECK(Cached(ctx, b) == 2);
  CHECK(Cached(ctx, a) == 1);
  // a's evicted partition is computed again; its other partition is read.
  g_calls = 0;
  CHECK(a.count() == 200'000);
  CHECK(g_calls == 100'000);
}

TEST_CASE("local cache: DISK_ONLY keeps partitions on disk", "[local][cache]") {
  g_calls = 0;
  auto ds = Local().parallelize(Range(5000), 3).map([](int64_t x) {
    ++g_calls;
    return std::to_string(x);
  });
  ds.persist(StorageLevel::kDiskOnly);
  CHECK(ds.count() == 5000);
  CHECK(Cached(Local(), ds) == 3);
  std::vector<std::string> all = ds.collect();
  REQUIRE(all.size() == 5000);
  CHECK(all[4321] == "4321");
  CHECK(g_calls == 5000);
  // Another level for a persisted dataset is refused, naming the problem.
  try {
    ds.persist(StorageLevel::kMemoryOnly);
    FAIL("persist at another level was accepted");
  } catch (const JobFailed& e) {
    CHECK(std::string(e.what()).find("already persisted at another storage level") !=
          std::string::npos);
  }
  ds.unpersist();
  CHECK(ds.count() == 5000);
  CHECK(g_calls == 10000);
}

TEST_CASE("local cache: MEMORY_AND_DISK keeps what memory cannot hold on disk", "[local][cache]") {
  SmallStorage small("local-cache-disk");
  Context& ctx = small.ctx;
  auto counted = [&](int64_t n, int partitions) { return small.Counted(n, partitions); };
  // 8 MB: more than memory holds; the partitions go to disk and are not recomputed.
  g_calls = 0;
  auto big = counted(1'000'000, 2).persist(StorageLevel::kMemoryAndDisk);
  CHECK(big.reduce([](int64_t a, int64_t b) { return a + b; }) == 499'999'500'000);
  CHECK(Cached(ctx, big) == 2);
  CHECK(big.reduce([](int64_t a, int64_t b) { return a + b; }) == 499'999'500'000);
  CHECK(g_calls == 1'000'000);
  big.unpersist();

  // A MEMORY_AND_DISK block evicted by another dataset goes to disk, still cached.
  auto a = counted(200'000, 2).persist(StorageLevel::kMemoryAndDisk);
  auto b = counted(200'000, 2).cache();
  CHECK(a.count() == 200'000);
  CHECK(b.count() == 200'000);
  CHECK(Cached(ctx, a) == 2);
  g_calls = 0;
  CHECK(a.collect() == Range(200'000));
  CHECK(g_calls == 0);
}

}  // namespace
}  // namespace kiln
