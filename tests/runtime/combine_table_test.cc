// CombineTable: the same combine with and without its dense window, for keys that are
// dense, sparse, negative, of small integer types and mixed; which keys the window takes.
#include "runtime/combine_table.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "common/memory_size.h"
#include "runtime/string_combine_map.h"
#include "tests/kiln_catch.h"

namespace kiln::runtime {
namespace {

// A combiner that records every value in the order it came, so a fold out of order or
// a value lost shows; a std::string also checks that the window builds and destroys
// combiners that own memory.
auto Create = [](int v) { return std::to_string(v); };
auto Append = [](std::string c, int v) { return c + "," + std::to_string(v); };

template <class K>
using Reference = std::map<K, std::string>;

// Folds `pairs` into a table in batches of `batch_size` and into a reference map;
// checks that both hold the same combiners and that the heap bytes the table reported
// are what its combiners own.
template <class Op, class K>
CombineTable<K, std::string> FoldAndCheck(const std::vector<std::pair<K, int>>& pairs,
                                          size_t batch_size) {
  CombineTable<K, std::string> table;
  table.template Start<Op>();
  Reference<K> reference;
  int64_t heap = 0;
  std::vector<std::pair<K, int>> batch;
  for (size_t i = 0; i < pairs.size(); i += batch_size) {
    batch.assign(
        pairs.begin() + static_cast<std::ptrdiff_t>(i),
        pairs.begin() + static_cast<std::ptrdiff_t>(std::min(pairs.size(), i + batch_size)));
    for (const auto& [k, v] : batch) {
      auto [it, inserted] = reference.try_emplace(k, Create(v));
      if (!inserted) it->second = Append(std::move(it->second), v);
    }
    heap += table.Merge(batch, Create, Append);
  }
  REQUIRE(table.size() == reference.size());
  Reference<K> got;
  int64_t owned = 0;
  uint64_t wrong_hashes = 0;
  table.ForEach([&](const K& key, uint64_t hash, std::string& c) {
    if (hash != KeyHash<K>()(key)) ++wrong_hashes;
    owned += static_cast<int64_t>(HeapBytes<std::string>::Of(c));
    CHECK(got.emplace(key, c).second);
  });
  CHECK(wrong_hashes == 0);
  CHECK(got == reference);
  CHECK(heap == owned);
  return table;
}

template <class K>
std::vector<std::pair<K, int>> Draw(size_t n, std::mt19937_64& rng, auto key) {
  std::vector<std::pair<K, int>> pairs;
  for (size_t i = 0; i < n; ++i) pairs.emplace_back(key(), static_cast<int>(rng() % 1000));
  return pairs;
}

struct DenseOp {};
struct SparseOp {};
struct SequentialOp {};
struct NegativeOp {};
struct MixedOp {};
struct SmallOp {};
struct HintOp {};

TEST_CASE("combine table: dense integer keys fold in the window, as the hash map would",
          "[combine]") {
  std::mt19937_64 rng(7);
  const auto pairs =
      Draw<int64_t>(200000, rng, [&] { return static_cast<int64_t>(rng() % 50000); });
  auto table = FoldAndCheck<DenseOp>(pairs, 1024);
  // The window may start trimmed of a few keys at each end, which then stay in the map.
  CHECK(table.window_size() >= table.size() * 97 / 100);
}

TEST_CASE("combine table: sparse keys stay in the hash map", "[combine]") {
  std::mt19937_64 rng(8);
  const auto pairs = Draw<uint64_t>(50000, rng, [&] { return rng() % 1000000000000ULL; });
  auto table = FoldAndCheck<SparseOp>(pairs, 777);
  CHECK(table.window_size() == 0);
}

TEST_CASE("combine table: rising keys widen the window as they come", "[combine]") {
  std::mt19937_64 rng(9);
  int64_t next = 1000;
  const auto pairs = Draw<int64_t>(100000, rng, [&] { return next++ / 2; });
  auto table = FoldAndCheck<SequentialOp>(pairs, 1000);
  // Each look takes every key so far; only those since the last look are outside.
  CHECK(table.window_size() >= table.size() / 2);
}

TEST_CASE("combine table: negative keys and keys outside the window", "[combine]") {
  std::mt19937_64 rng(10);
  auto negative =
      Draw<int32_t>(60000, rng, [&] { return static_cast<int32_t>(rng() % 20000) - 10000; });
  auto table = FoldAndCheck<NegativeOp>(negative, 512);
  CHECK(table.window_size() >= table.size() * 99 / 100);
  // Dense keys with a few far away: those stay in the map, the rest in the window.
  auto mixed = Draw<int64_t>(60000, rng, [&] {
    return rng() % 100 == 0 ? static_cast<int64_t>(rng()) : static_cast<int64_t>(rng() % 10000);
  });
  auto mixed_table = FoldAndCheck<MixedOp>(mixed, 1024);
  CHECK(mixed_table.window_size() >= mixed_table.size() * 9 / 10);
  CHECK(mixed_table.window_size() < mixed_table.size());
}

TEST_CASE("combine table: keys of a small integer type span their whole range", "[combine]") {
  std::mt19937_64 rng(11);
  auto pairs = Draw<int8_t>(20000, rng, [&] { return static_cast<int8_t>(rng()); });
  FoldAndCheck<SmallOp>(pairs, 100);
}

TEST_CASE("combine table: the next table of the operator starts with the window", "[combine]") {
  std::mt19937_64 rng(12);
  const auto first =
      Draw<int64_t>(100000, rng, [&] { return static_cast<int64_t>(rng() % 30000); });
  auto table = FoldAndCheck<HintOp>(first, 1024);
  REQUIRE(table.window_size() >= table.size() * 99 / 100);
  table.Learn<HintOp>();
  // 100 keys would not reach the first look; the window is there from the start.
  const auto second = Draw<int64_t>(100, rng, [&] { return static_cast<int64_t>(rng() % 30000); });
  auto next = FoldAndCheck<HintOp>(second, 1024);
  CHECK(next.window_size() == next.size());
  // Keys of a task outside the last one's range go to the map, and still combine.
  const auto shifted =
      Draw<int64_t>(100, rng, [&] { return 40000 + static_cast<int64_t>(rng() % 50); });
  auto other = FoldAndCheck<HintOp>(shifted, 10);
  CHECK(other.window_size() == 0);
}

struct StringOp {};
struct ReuseOp {};
struct SortedOp {};

// Words of 0 to 40 bytes (around the 12 a slot holds inline), a few with NUL bytes
// inside, drawn with a skew so that some repeat often and most rarely.
std::string Word(std::mt19937_64& rng) {
  const uint64_t id = rng() % 2 == 0 ? rng() % 50 : rng() % 20000;
  std::string word = "w" + std::to_string(id);
  word.resize(static_cast<size_t>(id % 41), static_cast<char>('a' + id % 26));
  if (id % 97 == 0 && !word.empty()) word[word.size() / 2] = '\0';
  return word;
}

TEST_CASE("combine table: string keys, short and long, fold as a reference map does", "[combine]") {
  std::mt19937_64 rng(13);
  const auto pairs = Draw<std::string>(100000, rng, [&] { return Word(rng); });
  for (size_t batch_size : {size_t{1}, size_t{7}, size_t{1024}}) {
    INFO("batch size " << batch_size);
    auto table = FoldAndCheck<StringOp>(pairs, batch_size);
    CHECK(table.window_size() == 0);
    // InHashOrder: every key once, by (hash, key), with its combiner.
    const auto entries = table.InHashOrder();
    REQUIRE(entries.size() == table.size());
    uint64_t out_of_order = 0;
    uint64_t wrong_hashes = 0;
    for (size_t i = 0; i < entries.size(); ++i) {
      if (entries[i].hash != KeyHash<std::string>()(*entries[i].key)) ++wrong_hashes;
      if (i > 0) {
        const auto& a = entries[i - 1];
        const auto& b = entries[i];
        if (!(a.hash < b.hash || (a.hash == b.hash && *a.key < *b.key))) ++out_of_order;
      }
    }
    CHECK(wrong_hashes == 0);
    CHECK(out_of_order == 0);
    // Long keys live in the table's arena: what it holds grows past its slots alone.
    CHECK(table.Bytes() > static_cast<int64_t>(table.size() * 32));
  }
}

TEST_CASE("string combine map: keys that arrive in hash order do not pile up", "[combine]") {
  // As a reduce task reads a map task's table drained in slot order, or a reduce
  // output (in hash order) goes into the next reduce_by_key.
  std::vector<std::pair<std::string, int>> pairs;
  for (int i = 0; i < 200000; ++i) pairs.emplace_back("key-" + std::to_string(i), i);
  std::sort(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) {
    return KeyHash<std::string>()(a.first) < KeyHash<std::string>()(b.first);
  });
  // Folds `in` in batches; the longest run of occupied slots seen after any batch.
  auto fold = [](const std::vector<std::pair<std::string, int>>& in, StringCombineMap<int>& map) {
    auto first = [](int v) { return v; };
    auto add = [](int a, int b) { return a + b; };
    std::vector<std::pair<std::string, int>> batch;
    size_t longest = 0;
    for (size_t i = 0; i < in.size(); i += 1024) {
      batch.assign(in.begin() + static_cast<std::ptrdiff_t>(i),
                   in.begin() + static_cast<std::ptrdiff_t>(std::min(in.size(), i + 1024)));
      map.Merge(batch, first, add);
      if (i % (8 * 1024) == 0) longest = std::max(longest, map.LongestRun());
    }
    return longest;
  };
  StringCombineMap<int> drained;
  CHECK(fold(pairs, drained) < 200);
  REQUIRE(drained.size() == pairs.size());
  // Its keys in slot order, folded into a second table, spread there as well.
  std::vector<std::pair<std::string, int>> in_slot_order;
  drained.ForEach(
      [&](std::string_view key, uint64_t, int& v) { in_slot_order.emplace_back(key, v); });
  StringCombineMap<int> next;
  CHECK(fold(in_slot_order, next) < 200);
  REQUIRE(next.size() == pairs.size());
}

TEST_CASE("string combine map: the memory it reports holds its keys, however long", "[combine]") {
  StringCombineMap<int> map;
  auto first = [](int v) { return v; };
  auto add = [](int a, int b) { return a + b; };
  std::vector<std::pair<std::string, int>> batch;
  size_t key_bytes = 0;
  for (int i = 0; i < 50; ++i) {
    // From 13 bytes (just past the slot) to 200 KB (past an arena chunk).
    batch.emplace_back(std::string(static_cast<size_t>(13 + i * i * 80), 'a') + std::to_string(i),
                       i);
    key_bytes += batch.back().first.size();
  }
  auto copy = batch;
  map.Merge(copy, first, add);
  REQUIRE(map.size() == 50);
  CHECK(map.bytes() >= static_cast<int64_t>(key_bytes));
  int found = 0;
  map.ForEach([&](std::string_view key, uint64_t, int& v) {
    found += key == batch[static_cast<size_t>(v)].first ? 1 : 0;
  });
  CHECK(found == 50);
  map.clear();
  CHECK(map.bytes() == 0);
}

TEST_CASE("combine table: a cleared string table starts again empty", "[combine]") {
  std::mt19937_64 rng(14);
  const auto pairs = Draw<std::string>(30000, rng, [&] { return Word(rng); });
  auto table = FoldAndCheck<ReuseOp>(pairs, 512);
  table.Learn<ReuseOp>();
  table.Clear();
  CHECK(table.size() == 0);
  CHECK(table.Bytes() == 0);
  int visited = 0;
  table.ForEach([&](const std::string&, uint64_t, std::string&) { ++visited; });
  CHECK(visited == 0);
  // The next table of the operator starts as large as this one became, and folds the same.
  const auto again = Draw<std::string>(30000, rng, [&] { return Word(rng); });
  auto next = FoldAndCheck<ReuseOp>(again, 512);
  CHECK(next.size() > 0);
}

}  // namespace
}  // namespace kiln::runtime
