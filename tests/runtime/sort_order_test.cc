// Fixed output orders: SortByPrefix against std::sort, the combine maps' InHashOrder,
// and sort_by_key's SortBuffer against std::stable_sort.
#include <algorithm>
#include <climits>
#include <cstdint>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "common/codec.h"
#include "runtime/combine_map.h"
#include "runtime/ops_sink.h"
#include "runtime/prefix_sort.h"
#include "runtime/sort_buffer.h"
#include "tests/kiln_catch.h"

namespace kiln::runtime {
namespace {

using Pair = std::pair<uint64_t, int>;

// `n` pairs with uniform hashes, or (clustered) only `distinct` different ones, so that
// many hashes tie and the item order decides.
std::vector<Pair> Pairs(size_t n, uint64_t distinct, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> hashes(distinct);
  for (uint64_t& h : hashes) h = rng();
  std::vector<Pair> pairs;
  for (size_t i = 0; i < n; ++i) {
    pairs.emplace_back(hashes[rng() % distinct], static_cast<int>(rng() % 1000));
  }
  return pairs;
}

TEST_CASE("prefix sort: hashes with ties order as std::sort by (hash, item)", "[sort]") {
  auto less = [](const PrefixEntry& a, const PrefixEntry& b) {
    return a.prefix != b.prefix ? a.prefix < b.prefix : a.index < b.index;
  };
  auto sorted = [&](const std::vector<Pair>& pairs) {
    std::vector<PrefixEntry> entries;
    for (const auto& [hash, item] : pairs) {
      entries.push_back(PrefixEntry{hash, static_cast<uint32_t>(item)});
    }
    SortByPrefix(entries, less);
    std::vector<Pair> out;
    for (const PrefixEntry& e : entries) out.emplace_back(e.prefix, static_cast<int>(e.index));
    return out;
  };
  for (size_t n : {0, 1, 255, 256, 257, 5000, 100'000}) {
    for (uint64_t distinct : {uint64_t{1} << 62, uint64_t{3}, uint64_t{1000}}) {
      INFO("n = " << n << ", distinct hashes = " << distinct);
      std::vector<Pair> pairs = Pairs(n, std::min<uint64_t>(distinct, n + 1), n + distinct);
      std::vector<Pair> expected = pairs;
      std::sort(expected.begin(), expected.end());
      CHECK(sorted(pairs) == expected);
    }
  }
  // Hashes at the ends of the range land in the first and last buckets.
  std::vector<Pair> edges;
  for (int i = 0; i < 1000; ++i) {
    edges.emplace_back(
        i % 2 == 0 ? ~uint64_t{0} - static_cast<uint64_t>(i) : static_cast<uint64_t>(i), i);
  }
  std::vector<Pair> expected = edges;
  std::sort(expected.begin(), expected.end());
  CHECK(sorted(edges) == expected);
}

TEST_CASE("combine map: InHashOrder yields every entry by hash, then key", "[combine]") {
  CombineMap<std::string, int> map;
  for (int i = 0; i < 20'000; ++i) {
    std::string key = "k" + std::to_string(i);
    uint64_t hash = i % 7 == 0 ? 42 : KeyHash<std::string>()(key);  // many ties at 42
    map.try_emplace(Hashed<std::string>(HashedRef<std::string>{&key, hash}), i);
  }
  std::vector<HashedEntry<std::string, int>> entries = InHashOrder(map);
  REQUIRE(entries.size() == map.size());
  for (size_t i = 1; i < entries.size(); ++i) {
    const auto& a = entries[i - 1];
    const auto& b = entries[i];
    INFO("entries " << i - 1 << " and " << i << ": " << *a.key << ", " << *b.key);
    CHECK((a.hash < b.hash || (a.hash == b.hash && *a.key < *b.key)));
    CHECK(*a.value == std::stoi(a.key->substr(1)));
  }
}

// Keys of `length` random letters from an alphabet of `letters`, after a fixed `common`
// start.
std::vector<std::string> Keys(size_t n, const std::string& common, size_t length, int letters,
                              uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> keys;
  for (size_t i = 0; i < n; ++i) {
    std::string key = common;
    for (size_t j = 0; j < length; ++j) key.push_back(static_cast<char>('a' + rng() % letters));
    keys.push_back(std::move(key));
  }
  return keys;
}

TEST_CASE("prefix sort: SortByPrefix orders as std::sort with the same comparison", "[sort]") {
  std::mt19937_64 rng(5);
  auto by_prefix_then_index = [](const PrefixEntry& a, const PrefixEntry& b) {
    return a.prefix != b.prefix ? a.prefix < b.prefix : a.index < b.index;
  };
  auto same = [](const std::vector<PrefixEntry>& a, const std::vector<PrefixEntry>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
      return x.prefix == y.prefix && x.index == y.index;
    });
  };
  // Random prefixes; prefixes that share their top 5 bytes; few distinct prefixes (ties
  // everywhere, decided by the index); sizes around the leaf size.
  for (size_t n : {0, 1, 63, 64, 65, 1000, 200'000}) {
    for (int kind = 0; kind < 3; ++kind) {
      INFO("n = " << n << ", kind " << kind);
      std::vector<PrefixEntry> entries;
      for (uint32_t i = 0; i < n; ++i) {
        uint64_t p = rng();
        if (kind == 1) p = (uint64_t{0x1234567890} << 24) | (p & 0xffffff);
        if (kind == 2) p = p % 5;
        entries.push_back({p, static_cast<uint32_t>(rng() % (n + 1))});
      }
      std::vector<PrefixEntry> expected = entries;
      std::sort(expected.begin(), expected.end(), by_prefix_then_index);
      SortByPrefix(entries, by_prefix_then_index);
      CHECK(same(entries, expected));
    }
  }
}

// The order a SortBuffer holding `records` gives, as indexes into `records`, after
// checking that each record decodes to itself and keeps its encoded bytes.
template <class K, class V>
std::vector<uint32_t> BufferOrder(const std::vector<std::pair<K, V>>& records, bool ascending) {
  SortBuffer<K, V> buffer(ascending);
  std::vector<std::string> encoded;
  for (const auto& record : records) {
    std::string bytes;
    Writer w(&bytes);
    Encode(w, record);
    buffer.Add(record, bytes);
    encoded.push_back(std::move(bytes));
  }
  REQUIRE(buffer.size() == records.size());
  buffer.Sort();
  // Which record each sorted one is: records are told apart by their encoded bytes and,
  // when two are alike, taken in input order (the sort must be stable for that to hold).
  std::map<std::string, std::vector<uint32_t>> by_bytes;
  for (uint32_t i = 0; i < encoded.size(); ++i) by_bytes[encoded[i]].push_back(i);
  std::map<std::string, size_t> taken;
  std::vector<uint32_t> order;
  SortedRecords<K, V> sorted(buffer);
  std::pair<K, V> decoded;
  for (size_t i = 0; i < buffer.size(); ++i) {
    const std::string bytes(buffer.encoded(i));
    REQUIRE(by_bytes.count(bytes) == 1);
    const uint32_t index = by_bytes[bytes][taken[bytes]++];
    REQUIRE(sorted.Next(&decoded) == bytes.size());
    REQUIRE(decoded == records[index]);
    order.push_back(index);
  }
  CHECK(sorted.Next(&decoded) == 0);
  return order;
}

template <class K, class V>
std::vector<uint32_t> StableOrder(const std::vector<std::pair<K, V>>& records, bool ascending) {
  std::vector<uint32_t> order(records.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return ascending ? records[a].first < records[b].first : records[b].first < records[a].first;
  });
  return order;
}

TEST_CASE("sort buffer: sort_by_key's order is a stable sort by the whole key, both ways",
          "[sort]") {
  // Keys longer than the 8-byte prefix that tie on it (a common start), short keys, an
  // empty key, and duplicates: equal keys keep their input order (the values number the
  // records, so that the test can tell duplicates apart).
  for (const auto& [common, length, letters] : {std::tuple{std::string(), size_t{10}, 26},
                                                std::tuple{std::string("2026-12-"), size_t{3}, 4},
                                                std::tuple{std::string(), size_t{2}, 3}}) {
    std::vector<std::string> keys = Keys(20'000, common, length, letters, length);
    keys.push_back("");
    std::vector<std::pair<std::string, int>> records;
    for (size_t i = 0; i < keys.size(); ++i) records.emplace_back(keys[i], static_cast<int>(i));
    for (bool ascending : {true, false}) {
      INFO("common start '" << common << "', " << length << " letters of " << letters
                            << (ascending ? ", ascending" : ", descending"));
      CHECK(BufferOrder(records, ascending) == StableOrder(records, ascending));
    }
  }
}

TEST_CASE("sort buffer: integer keys of either sign, and keys without a prefix", "[sort]") {
  std::mt19937_64 rng(11);
  std::vector<std::pair<int64_t, std::string>> signed_keys;
  std::vector<std::pair<uint32_t, int>> unsigned_keys;
  std::vector<std::pair<double, int>> double_keys;
  std::vector<std::pair<std::pair<int, std::string>, int>> pair_keys;
  for (int i = 0; i < 5000; ++i) {
    const int64_t k = static_cast<int64_t>(rng() % 2001) - 1000;  // duplicates, both signs
    signed_keys.emplace_back(i == 0 ? INT64_MIN : i == 1 ? INT64_MAX : k, std::to_string(i));
    unsigned_keys.emplace_back(i == 0 ? UINT32_MAX : static_cast<uint32_t>(rng() % 300), i);
    double_keys.emplace_back(static_cast<double>(k) / 7.0, i);
    pair_keys.emplace_back(
        std::pair<int, std::string>(static_cast<int>(k % 3), Keys(1, "", 2, 3, i)[0]), i);
  }
  for (bool ascending : {true, false}) {
    INFO((ascending ? "ascending" : "descending"));
    CHECK(BufferOrder(signed_keys, ascending) == StableOrder(signed_keys, ascending));
    CHECK(BufferOrder(unsigned_keys, ascending) == StableOrder(unsigned_keys, ascending));
    CHECK(BufferOrder(double_keys, ascending) == StableOrder(double_keys, ascending));
    CHECK(BufferOrder(pair_keys, ascending) == StableOrder(pair_keys, ascending));
  }
}

TEST_CASE("sort buffer: records larger than a block, memory counted, cleared for reuse", "[sort]") {
  SortBuffer<std::string, std::string> buffer(true);
  std::vector<std::pair<std::string, std::string>> records = {
      {"b", std::string(3 << 20, 'x')}, {"a", "small"}, {"c", std::string(1 << 20, 'y')}};
  for (const auto& record : records) {
    std::string bytes;
    Writer w(&bytes);
    Encode(w, record);
    buffer.Add(record, bytes);
  }
  // Each large record in a block of its own, the small one in a 1 MiB block.
  CHECK(buffer.memory_bytes() >= (3 << 20) + (1 << 20) + (1 << 20));
  buffer.Sort();
  std::pair<std::string, std::string> out;
  {
    SortedRecords<std::string, std::string> sorted(buffer);
    for (size_t i : {1, 0, 2}) {
      CHECK(sorted.Next(&out) > 0);
      CHECK(out == records[i]);
    }
    CHECK(sorted.Next(&out) == 0);
  }
  buffer.Clear();
  CHECK(buffer.empty());
  CHECK(buffer.memory_bytes() == 0);
  std::string bytes;
  Writer w(&bytes);
  Encode(w, std::pair<std::string, std::string>("z", "again"));
  buffer.Add({"z", "again"}, bytes);
  buffer.Sort();
  SortedRecords<std::string, std::string> again(buffer);
  CHECK(again.Next(&out) == bytes.size());
  CHECK(out.second == "again");
}

// Samples `size` keys of the records 0..n-1 of partition `partition`, pushed in batches
// of `batch` records.
std::vector<int64_t> SampleKeys(uint64_t size, int64_t n, size_t batch, int partition,
                                uint64_t* seen) {
  using Sink = KeySampleSink<int64_t, int64_t>;
  auto op = Sink::Create("", Sink::EncodeParams(size));
  REQUIRE(op.ok());
  auto& sink = dynamic_cast<Sink&>(**op);
  TaskContext ctx;
  ctx.partition = partition;
  REQUIRE(sink.Open(ctx).ok());
  std::vector<std::pair<int64_t, int64_t>> records;
  for (int64_t i = 0; i < n; ++i) {
    records.emplace_back(i, 0);
    if (records.size() == batch || i == n - 1) {
      REQUIRE(sink.Push(records).ok());
      records.clear();
    }
  }
  REQUIRE(sink.Finish(ctx).ok());
  std::vector<int64_t> keys;
  REQUIRE(Sink::DecodeResult(ctx.result, seen, &keys));
  return keys;
}

TEST_CASE("key sample: a uniform sample of each partition's keys, whatever the batches", "[sort]") {
  uint64_t seen = 0;
  // Fewer records than the reservoir: all of them.
  auto all = SampleKeys(100, 60, 7, 0, &seen);
  CHECK(seen == 60);
  std::sort(all.begin(), all.end());
  CHECK(all == [] {
    std::vector<int64_t> v(60);
    std::iota(v.begin(), v.end(), 0);
    return v;
  }());
  CHECK(SampleKeys(0, 50, 7, 0, &seen).empty());
  CHECK(seen == 50);
  // 100 of 100,000, over 200 partitions (seeds): distinct keys, and every tenth of the
  // range holds about a tenth of the 20,000 sampled keys (binomial: sd 42).
  std::vector<int> tenths(10, 0);
  int64_t late = 0;  // among the last 1,000 records: a sampler that stops replacing misses them
  for (int p = 0; p < 200; ++p) {
    auto keys = SampleKeys(100, 100000, p % 2 == 0 ? 1024 : 37, p, &seen);
    REQUIRE(seen == 100000);
    REQUIRE(keys.size() == 100);
    CHECK(std::set<int64_t>(keys.begin(), keys.end()).size() == 100);
    for (int64_t k : keys) {
      ++tenths[static_cast<size_t>(k / 10000)];
      late += k >= 99000 ? 1 : 0;
    }
  }
  INFO("per tenth " << Catch::Detail::stringify(tenths));
  for (int t : tenths) {
    CHECK(t > 1800);
    CHECK(t < 2200);
  }
  CHECK(late > 120);  // expected 200
  CHECK(late < 280);
  // Deterministic: the same partition gives the same sample.
  CHECK(SampleKeys(50, 10000, 100, 3, &seen) == SampleKeys(50, 10000, 999, 3, &seen));
}

}  // namespace
}  // namespace kiln::runtime
