// The unified memory model with exact byte counts: what storage and execution may take
// from each other, and each task's share of execution memory.
#include "runtime/memory_manager.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "common/wait.h"
#include "runtime/block_store.h"
#include "tests/kiln_catch.h"

namespace kiln::runtime {
namespace {

using std::chrono::seconds;

std::shared_ptr<const void> Data() { return std::make_shared<const int>(0); }

// Reserves and stores a block of `bytes`.
bool Cache(BlockStore& store, BlockId id, int64_t bytes) {
  std::vector<Evicted> evicted;
  if (!store.Reserve(id.dataset, bytes, &evicted)) return false;
  store.Put(id, Data(), bytes);
  return true;
}

TEST_CASE("memory: storage uses what execution does not hold, and never takes it", "[memory]") {
  MemoryManager memory(1000, 0.5);
  BlockStore store(&memory);
  std::vector<Evicted> evicted;
  REQUIRE(memory.AcquireExecution(1, 300, &evicted) == 300);
  // Storage may go past its region (500) into memory execution does not use...
  CHECK(Cache(store, {1, 0}, 650));
  CHECK(memory.Snapshot().storage_used == 650);
  // ...but not into what execution holds: 51 more would need execution's bytes.
  CHECK(Cache(store, {1, 1}, 50));
  CHECK_FALSE(Cache(store, {1, 2}, 1));
  CHECK_FALSE(store.Reserve(2, 701, &evicted));  // more than all of non-execution memory
  CHECK(evicted.empty());
  CHECK(memory.Snapshot().execution_used == 300);
  CHECK(memory.Snapshot().storage_used == 700);
}

TEST_CASE("memory: execution evicts cached blocks down to the storage region and no further",
          "[memory]") {
  MemoryManager memory(1000, 0.5);
  BlockStore store(&memory);
  for (int p = 0; p < 8; ++p) REQUIRE(Cache(store, {1, p}, 100));  // 800 cached, 200 free
  std::vector<Evicted> evicted;
  // 500 asked: 200 free + 300 from the blocks above the region (800 - 500).
  CHECK(memory.AcquireExecution(7, 500, &evicted) == 500);
  REQUIRE(evicted.size() == 3);
  CHECK(evicted[0].id == BlockId{1, 0});  // least recently used first
  CHECK(evicted[2].id == BlockId{1, 2});
  CHECK(store.used() == 500);
  // The region is held: asking for more evicts nothing and grants nothing.
  evicted.clear();
  CHECK(memory.AcquireExecution(7, 100, &evicted) == 0);
  CHECK(evicted.empty());
  CHECK(store.used() == 500);
  MemorySnapshot s = memory.Snapshot();
  CHECK(s.storage_used == 500);
  CHECK(s.execution_used == 500);
  // Released execution memory is storage's again.
  CHECK(memory.ReleaseAllExecution(7) == 500);
  CHECK(Cache(store, {2, 0}, 500));
  CHECK(memory.Snapshot().storage_used == 1000);
}

TEST_CASE("memory: blocks being read are not evicted for execution", "[memory]") {
  MemoryManager memory(1000, 0.5);
  BlockStore store(&memory);
  REQUIRE(Cache(store, {1, 0}, 400));
  REQUIRE(Cache(store, {1, 1}, 400));
  std::shared_ptr<const void> reading = store.Get({1, 0});
  store.Get({1, 1});  // {1,0} is the least recently used, but pinned by `reading`
  std::vector<Evicted> evicted;
  CHECK(memory.AcquireExecution(1, 500, &evicted) == 500);  // 200 free + {1,1}
  REQUIRE(evicted.size() == 1);
  CHECK(evicted[0].id == BlockId{1, 1});
  CHECK(evicted[0].bytes == 400);
  CHECK(store.Get({1, 0}) != nullptr);
}

TEST_CASE("memory: a task gets at most 1/N of execution memory", "[memory]") {
  MemoryManager memory(1000, 0.5);
  std::vector<Evicted> evicted;
  CHECK(memory.AcquireExecution(1, 2000, &evicted) == 1000);  // alone: all of it
  memory.ReleaseExecution(1, 1000);
  CHECK(memory.AcquireExecution(2, 10, &evicted) == 10);  // two tasks now
  CHECK(memory.AcquireExecution(1, 2000, &evicted) == 500);
  CHECK(memory.AcquireExecution(1, 1, &evicted) == 0);  // at its 1/2: spill, do not wait
  CHECK(memory.AcquireExecution(3, 0, &evicted) == 0);  // three tasks: 1/3 = 333 each
  CHECK(memory.AcquireExecution(2, 1000, &evicted) == 323);
  CHECK(memory.execution_held(2) == 333);
  CHECK(memory.Snapshot().execution_used == 833);
  CHECK(memory.Snapshot().active_tasks == 3);
  CHECK(memory.ReleaseAllExecution(1) == 500);
  CHECK(memory.ReleaseAllExecution(1) == 0);
  CHECK(memory.Snapshot().active_tasks == 2);
}

TEST_CASE("memory: a task below 1/(2N) waits for others to release instead of failing",
          "[memory]") {
  MemoryManager memory(1000, 0.5);
  std::vector<Evicted> evicted;
  REQUIRE(memory.AcquireExecution(1, 1000, &evicted) == 1000);
  std::atomic<int64_t> granted{-1};
  std::thread second([&] {
    std::vector<Evicted> ev;
    granted = memory.AcquireExecution(2, 400, &ev);
  });
  // Task 2 holds nothing, less than its guaranteed 1000 / (2 * 2): it waits.
  REQUIRE(WaitFor([&] { return memory.Snapshot().waiting_tasks == 1; }, seconds(10)));
  CHECK(granted == -1);
  memory.ReleaseExecution(1, 100);  // 100 free: still below 250, keeps waiting
  REQUIRE(WaitFor([&] { return memory.Snapshot().waiting_tasks == 1; }, seconds(10)));
  CHECK(granted == -1);
  memory.ReleaseExecution(1, 300);  // 400 free: its 1/2 cap (500) allows all 400
  REQUIRE(WaitFor([&] { return granted != -1; }, seconds(10)));
  second.join();
  CHECK(granted == 400);
  CHECK(memory.Snapshot().execution_used == 1000);
}

TEST_CASE("memory: a task's share counts memory storage holds within its region", "[memory]") {
  MemoryManager memory(1000, 0.5);
  BlockStore store(&memory);
  REQUIRE(Cache(store, {1, 0}, 300));
  std::vector<Evicted> evicted;
  // Execution can have at most 1000 - 300 (the blocks are inside the region).
  CHECK(memory.AcquireExecution(1, 1000, &evicted) == 700);
  CHECK(evicted.empty());
  CHECK(store.RemoveDataset(1) == 1);
  CHECK(memory.AcquireExecution(1, 1000, &evicted) == 300);
  CHECK(memory.Snapshot().storage_used == 0);
}

}  // namespace
}  // namespace kiln::runtime
