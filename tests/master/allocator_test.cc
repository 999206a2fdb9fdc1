#include "master/allocator.h"

#include <map>
#include <random>

#include "common/strings.h"
#include "tests/kiln_catch.h"

namespace kiln::master {
namespace {

std::vector<WorkerCapacity> Workers(int n, int cores, int64_t memory_mb) {
  std::vector<WorkerCapacity> out;
  for (int i = 0; i < n; ++i) out.push_back({StrCat("w", i + 1), cores, memory_mb});
  return out;
}

// worker id -> cores placed there
std::map<std::string, int> CoresByWorker(const std::vector<ExecutorPlacement>& ps) {
  std::map<std::string, int> out;
  for (const auto& p : ps) out[p.worker_id] += p.cores;
  return out;
}

TEST_CASE("allocator: spread out deals executors round-robin over workers") {
  auto ps = PlaceExecutors({1, 512, 6}, Workers(3, 4, 4096), /*spread_out=*/true);
  REQUIRE(ps.size() == 6);
  CHECK(CoresByWorker(ps) == std::map<std::string, int>{{"w1", 2}, {"w2", 2}, {"w3", 2}});
  for (const auto& p : ps) {
    CHECK(p.cores == 1);
    CHECK(p.memory_mb == 512);
  }
}

TEST_CASE("allocator: consolidate fills one worker before the next") {
  auto ps = PlaceExecutors({1, 512, 6}, Workers(3, 4, 4096), /*spread_out=*/false);
  REQUIRE(ps.size() == 6);
  CHECK(CoresByWorker(ps) == std::map<std::string, int>{{"w1", 4}, {"w2", 2}});
}

TEST_CASE("allocator: no more new executors than max_executors, spread or consolidated") {
  for (bool spread : {true, false}) {
    auto ps = PlaceExecutors({.cores_per_executor = 1,
                              .memory_per_executor_mb = 1,
                              .cores_wanted = 1000,
                              .max_executors = 5},
                             Workers(3, 4, 4096), spread);
    CHECK(ps.size() == 5);
  }
  // One executor per worker: the limit counts executors, not the cores they grow by.
  auto grown = PlaceExecutors({.cores_per_executor = 0,
                               .memory_per_executor_mb = 1,
                               .cores_wanted = 1000,
                               .max_executors = 2},
                              Workers(3, 4, 4096), true);
  REQUIRE(grown.size() == 2);
  CHECK(grown[0].cores + grown[1].cores == 8);
  CHECK(PlaceExecutors({.cores_per_executor = 1,
                        .memory_per_executor_mb = 1,
                        .cores_wanted = 1000,
                        .max_executors = 0},
                       Workers(3, 4, 4096), true)
            .empty());
}

TEST_CASE("allocator: multi-core executors, several per worker") {
  auto ps = PlaceExecutors({2, 100, 1000}, Workers(2, 5, 10000), true);
  // Each worker fits two 2-core executors (1 core is left over).
  REQUIRE(ps.size() == 4);
  CHECK(CoresByWorker(ps) == std::map<std::string, int>{{"w1", 4}, {"w2", 4}});
}

TEST_CASE("allocator: cores_per_executor 0 gives one executor per worker with all its cores") {
  auto ps = PlaceExecutors({0, 1024, 1 << 30}, Workers(2, 4, 4096), true);
  REQUIRE(ps.size() == 2);
  CHECK(ps[0].cores == 4);
  CHECK(ps[1].cores == 4);
  CHECK(ps[0].worker_id != ps[1].worker_id);
}

TEST_CASE("allocator: cores_per_executor 0 with a cap, spread and consolidated") {
  auto spread = PlaceExecutors({0, 1024, 5}, Workers(2, 4, 4096), true);
  CHECK(CoresByWorker(spread) == std::map<std::string, int>{{"w1", 3}, {"w2", 2}});
  CHECK(spread.size() == 2);
  auto packed = PlaceExecutors({0, 1024, 5}, Workers(2, 4, 4096), false);
  CHECK(CoresByWorker(packed) == std::map<std::string, int>{{"w1", 4}, {"w2", 1}});
  CHECK(packed.size() == 2);
}

TEST_CASE("allocator: cores_per_executor 0 skips a worker that already hosts the app") {
  auto workers = Workers(2, 4, 4096);
  workers[0].hosts_app_executor = true;
  auto ps = PlaceExecutors({0, 1024, 100}, workers, true);
  REQUIRE(ps.size() == 1);
  CHECK(ps[0].worker_id == "w2");
  // With a fixed executor size the same worker may take more.
  CHECK(CoresByWorker(PlaceExecutors({1, 1024, 100}, workers, true)).count("w1") == 1);
}

TEST_CASE("allocator: the cap on total cores is respected") {
  CHECK(PlaceExecutors({1, 1, 3}, Workers(4, 8, 8000), true).size() == 3);
  CHECK(PlaceExecutors({2, 1, 3}, Workers(4, 8, 8000), true).size() == 1);  // 2 <= 3 < 4
  CHECK(PlaceExecutors({2, 1, 1}, Workers(4, 8, 8000), true).empty());
  CHECK(PlaceExecutors({1, 1, 0}, Workers(4, 8, 8000), true).empty());
}

TEST_CASE("allocator: nothing fits") {
  CHECK(PlaceExecutors({1, 512, 10}, {}, true).empty());
  CHECK(PlaceExecutors({4, 512, 10}, Workers(3, 3, 4096), true).empty());   // too few cores
  CHECK(PlaceExecutors({1, 8192, 10}, Workers(3, 4, 4096), true).empty());  // too little memory
  CHECK(PlaceExecutors({0, 512, 10}, Workers(2, 0, 4096), false).empty());  // no free core
}

TEST_CASE("allocator: memory limits the number of executors on a worker") {
  auto ps = PlaceExecutors({1, 1024, 100}, Workers(1, 8, 3000), false);
  CHECK(ps.size() == 2);  // 2 x 1024 <= 3000 < 3 x 1024
  auto spread = PlaceExecutors({1, 1024, 100}, {{"a", 8, 1024}, {"b", 8, 4096}}, true);
  CHECK(CoresByWorker(spread) == std::map<std::string, int>{{"a", 1}, {"b", 4}});
}

TEST_CASE("allocator: workers with the most free cores come first") {
  std::vector<WorkerCapacity> workers = {{"small", 2, 4096}, {"big", 6, 4096}};
  auto ps = PlaceExecutors({1, 10, 3}, workers, false);
  CHECK(CoresByWorker(ps) == std::map<std::string, int>{{"big", 3}});
}

TEST_CASE("allocator: never oversubscribes a worker (randomized)") {
  std::mt19937 rng(42);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int round = 0; round < 2000; ++round) {
    std::vector<WorkerCapacity> workers;
    int n = pick(0, 6);
    for (int i = 0; i < n; ++i) {
      workers.push_back({StrCat("w", i), pick(0, 16), pick(0, 16) * 512, pick(0, 3) == 0});
    }
    ExecutorDemand d{pick(0, 5), pick(1, 8) * 512, pick(0, 60)};
    bool spread = pick(0, 1) == 1;
    auto ps = PlaceExecutors(d, workers, spread);
    std::map<std::string, std::pair<int, int64_t>> used;
    std::map<std::string, int> count;
    int total = 0;
    for (const auto& p : ps) {
      used[p.worker_id].first += p.cores;
      used[p.worker_id].second += p.memory_mb;
      ++count[p.worker_id];
      total += p.cores;
      CHECK(p.memory_mb == d.memory_per_executor_mb);
      if (d.cores_per_executor > 0) CHECK(p.cores == d.cores_per_executor);
      CHECK(p.cores >= 1);
    }
    CHECK(total <= d.cores_wanted);
    for (const auto& w : workers) {
      if (!used.count(w.worker_id)) continue;
      CHECK(used[w.worker_id].first <= w.cores_free);
      CHECK(used[w.worker_id].second <= w.memory_free_mb);
      if (d.cores_per_executor == 0) {
        CHECK(count[w.worker_id] == 1);
        CHECK_FALSE(w.hosts_app_executor);
      }
    }
  }
}

}  // namespace
}  // namespace kiln::master
