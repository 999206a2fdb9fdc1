// Fixed output orders: SortByPrefix against std::sort, the combine maps' InHashOrder,
// and sort_by_key's SortedOrder against std::stable_sort.
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "runtime/combine_map.h"
#include "runtime/ops_shuffle_read.h"
#include "runtime/prefix_sort.h"
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
  std::vector<std::pair<const Hashed<std::string>, int>*> entries = InHashOrder(map);
  REQUIRE(entries.size() == map.size());
  for (size_t i = 1; i < entries.size(); ++i) {
    const auto& a = entries[i - 1]->first;
    const auto& b = entries[i]->first;
    INFO("entries " << i - 1 << " and " << i << ": " << a.key << ", " << b.key);
    CHECK((a.hash < b.hash || (a.hash == b.hash && a.key < b.key)));
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

TEST_CASE("prefix sort: sort_by_key's order is a stable sort by the whole key, both ways",
          "[sort]") {
  // Keys longer than the 8-byte prefix that tie on it (a common start), short keys, an
  // empty key, and duplicates: equal keys keep their input order.
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
      std::vector<uint32_t> expected(records.size());
      std::iota(expected.begin(), expected.end(), 0);
      std::stable_sort(expected.begin(), expected.end(), [&](uint32_t a, uint32_t b) {
        return ascending ? records[a].first < records[b].first
                         : records[b].first < records[a].first;
      });
      CHECK(SortedOrder(records, ascending) == expected);
    }
  }
}

}  // namespace
}  // namespace kiln::runtime
