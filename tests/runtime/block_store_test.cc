#include "runtime/block_store.h"

#include <algorithm>
#include <filesystem>

#include "common/codec.h"
#include "common/memory_size.h"
#include "tests/kiln_catch.h"

namespace kiln::runtime {
namespace {

std::vector<std::string> ListDirNames(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

std::shared_ptr<const void> Data(int value) { return std::make_shared<const int>(value); }

std::vector<BlockId> Ids(const std::vector<Evicted>& evicted) {
  std::vector<BlockId> ids;
  for (const Evicted& e : evicted) ids.push_back(e.id);
  return ids;
}

// Reserves and stores a block of `bytes`; returns what it evicted.
std::vector<BlockId> Store(BlockStore& store, BlockId id, int64_t bytes, bool* ok = nullptr) {
  std::vector<Evicted> evicted;
  bool reserved = store.Reserve(id.dataset, bytes, &evicted);
  if (ok != nullptr) *ok = reserved;
  if (reserved) store.Put(id, Data(id.partition), bytes);
  return Ids(evicted);
}

TEST_CASE("block store: managed memory follows Spark's unified memory", "[cache]") {
  CHECK(ManagedMemory(300LL << 20, 0.6) == 0);
  CHECK(ManagedMemory(1324LL << 20, 0.6) == static_cast<int64_t>((1024LL << 20) * 0.6));
  CHECK(ManagedMemory(1324LL << 20, 1.0) == 1024LL << 20);
}

TEST_CASE("block store: least recently used blocks of other datasets are evicted", "[cache]") {
  MemoryManager memory(100, 0.5);
  BlockStore store(&memory);
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
  MemoryManager memory(100, 0.5);
  BlockStore store(&memory);
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
  MemoryManager memory(100, 0.5);
  BlockStore store(&memory);
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
  MemoryManager memory(100, 0.5);
  BlockStore store(&memory);
  std::vector<Evicted> evicted;
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

TEST_CASE("block store: an evicted block with a spill function goes to the evicting caller",
          "[cache]") {
  MemoryManager memory(100, 0.5);
  BlockStore store(&memory);
  int spills = 0;
  SpillFn spill = [&](BlockId id, const std::shared_ptr<const void>& data) {
    ++spills;
    return id == BlockId{1, 0} && *std::static_pointer_cast<const int>(data) == 0;
  };
  std::vector<Evicted> evicted;
  REQUIRE(store.Reserve(1, 60, &evicted));
  store.Put({1, 0}, Data(0), 60, spill);
  REQUIRE(store.Reserve(2, 60, &evicted));
  REQUIRE(evicted.size() == 1);
  CHECK(spills == 0);  // the store only hands it over
  REQUIRE(evicted[0].spill);
  CHECK(evicted[0].spill(evicted[0].id, evicted[0].data));
  CHECK(spills == 1);
}

TEST_CASE("block store: disk blocks are framed files, removed with their dataset", "[cache]") {
  char templ[] = "/tmp/kiln-blocks-test-XXXXXX";
  const std::string dir = mkdtemp(templ);
  MemoryManager memory(100, 0.5);
  BlockStore store(&memory, dir);
  REQUIRE(store.has_disk());
  const BlockId id{4, 2};
  CHECK(store.DiskPath(id) == dir + "/rdd_4_2");
  {
    DiskBlockWriter writer(store.DiskPath(id));
    bool appended = true;
    for (int i = 0; i < 100000; ++i) {  // several frames
      Writer w(writer.buffer());
      Encode(w, std::string("record ") + std::to_string(i));
      appended = writer.Appended().ok() && appended;
    }
    REQUIRE(appended);
    absl::StatusOr<int64_t> bytes = writer.Commit();
    REQUIRE(bytes.ok());
    store.AddDisk(id, *bytes);
  }
  CHECK(store.OnDisk(id));
  CHECK(store.disk_bytes() > 1'000'000);
  int records = 0, frames = 0;
  bool in_order = true;
  REQUIRE(ReadDiskBlock(store.DiskPath(id), [&](std::string_view frame) {
            ++frames;
            Reader r(frame);
            std::string x;
            while (!r.done()) {
              Decode(r, x);
              in_order = in_order && x == std::string("record ") + std::to_string(records);
              ++records;
            }
            return absl::OkStatus();
          }).ok());
  CHECK(records == 100000);
  CHECK(frames > 1);
  CHECK(in_order);
  // An abandoned writer leaves nothing behind.
  { DiskBlockWriter abandoned(store.DiskPath({4, 3})); }
  CHECK(ListDirNames(dir) == std::vector<std::string>{"rdd_4_2"});
  CHECK(store.RemoveDataset(4) == 1);
  CHECK_FALSE(store.OnDisk(id));
  CHECK(ListDirNames(dir).empty());
  CHECK(ReadDiskBlock(store.DiskPath(id), [](std::string_view) {
          return absl::OkStatus();
        }).code() == absl::StatusCode::kNotFound);
  std::filesystem::remove_all(dir);
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
