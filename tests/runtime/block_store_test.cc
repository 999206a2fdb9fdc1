#include "worker/runtime/block_store.h"

#include "common/memory_size.h"
#include "tests/kiln_catch.h"

namespace kiln::runtime {
namespace {

std::shared_ptr<const void> Data(int value) { return std::make_shared<const int>(value); }

// Reserves and stores a block of `bytes`; returns what it evicted.
std::vector<BlockId> Store(BlockStore& store, BlockId id, int64_t bytes, bool* ok = nullptr) {
  std::vector<BlockId> evicted;
  bool reserved = store.Reserve(id.dataset, bytes, &evicted);
  if (ok != nullptr) *ok = reserved;
  if (reserved) store.Put(id, Data(id.partition), bytes);
  return evicted;
}

TEST_CASE("block store: storage capacity follows Spark's unified memory", "[cache]") {
  CHECK(StorageCapacity(300LL << 20, 0.6, 0.5) == 0);
  CHECK(StorageCapacity(1324LL << 20, 0.6, 0.5) == static_cast<int64_t>((1024LL << 20) * 0.3));
  CHECK(StorageCapacity(1324LL << 20, 1.0, 1.0) == 1024LL << 20);
}

TEST_CASE("block store: least recently used blocks of other datasets are evicted", "[cache]") {
  BlockStore store(100);
  CHECK(Store(store, {1, 0}, 40).empty());
  CHECK(Store(store, {1, 1}, 40).empty());
  CHECK(store.used() == 80);
  REQUIRE(store.Get({1, 0}) != nullptr);  // {1,1} is now the least recently used
  std::vector<BlockId> evicted = Store(store, {2, 0}, 50);
  CHECK(evicted == std::vector<BlockId>{{1, 1}});
  CHECK(store.Get({1, 1}) == nullptr);
  CHECK(*std::static_pointer_cast<const int>(store.Get({2, 0})) == 0);
  CHECK(store.used() == 90);
  CHECK(store.reserved() == 0);
  CHECK(store.size() == 2);
}

TEST_CASE("block store: a dataset never evicts itself, and nothing goes when room cannot be made",
          "[cache]") {
  BlockStore store(100);
  Store(store, {1, 0}, 60);
  Store(store, {2, 0}, 30);
  bool ok = true;
  // 50 more for dataset 1: only dataset 2's 30 bytes could go, which is not enough.
  CHECK(Store(store, {1, 1}, 50, &ok).empty());
  CHECK_FALSE(ok);
  CHECK(store.Get({2, 0}) != nullptr);
  CHECK(store.used() == 90);
  CHECK(store.reserved() == 0);
}

TEST_CASE("block store: a block being read is not evicted", "[cache]") {
  BlockStore store(100);
  Store(store, {1, 0}, 50);
  Store(store, {1, 1}, 50);
  std::shared_ptr<const void> reading = store.Get({1, 0});
  store.Get({1, 1});  // {1,0} is least recently used, but pinned by `reading`
  std::vector<BlockId> evicted = Store(store, {2, 0}, 40);
  CHECK(evicted == std::vector<BlockId>{{1, 1}});
  CHECK(store.Get({1, 0}) != nullptr);
}

TEST_CASE("block store: reservations count against the budget until released or stored",
          "[cache]") {
  BlockStore store(100);
  std::vector<BlockId> evicted;
  REQUIRE(store.Reserve(1, 70, &evicted));
  CHECK_FALSE(store.Reserve(2, 40, &evicted));  // nothing stored to evict
  store.Release(20);
  REQUIRE(store.Reserve(2, 40, &evicted));
  store.Put({1, 0}, Data(0), 50);
  store.Put({2, 0}, Data(0), 40);
  CHECK(store.used() == 90);
  CHECK(store.reserved() == 0);
  // A second copy of a block replaces the first.
  REQUIRE(store.Reserve(1, 10, &evicted));
  store.Put({1, 0}, Data(5), 10);
  CHECK(store.used() == 50);
  CHECK(*std::static_pointer_cast<const int>(store.Get({1, 0})) == 5);
  CHECK(store.RemoveDataset(1) == 1);
  CHECK(store.RemoveDataset(1) == 0);
  CHECK(store.used() == 40);
  CHECK(store.size() == 1);
  CHECK(BlockId{3, 7}.Name() == "rdd_3_7");
}

TEST_CASE("memory size: records count their heap", "[cache]") {
  CHECK(MemoryBytes(int64_t{5}) == 8);
  CHECK(MemoryBytes(std::string("short")) == sizeof(std::string));
  std::string long_text(100, 'x');
  CHECK(MemoryBytes(long_text) == sizeof(std::string) + long_text.capacity() + 1);
  std::vector<int64_t> v(10);
  CHECK(MemoryBytes(v) == sizeof(v) + 10 * 8);
  std::pair<int64_t, std::vector<std::string>> p{1, {long_text, "a"}};
  CHECK(MemoryBytes(p) == sizeof(p) + 2 * sizeof(std::string) + long_text.capacity() + 1);
}

}  // namespace
}  // namespace kiln::runtime
