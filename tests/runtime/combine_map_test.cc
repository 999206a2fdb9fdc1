// The combine maps' fixed output order: SortByHash against std::sort, and InHashOrder.
#include "runtime/combine_map.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

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

TEST_CASE("combine map: SortByHash orders as std::sort by (hash, item)", "[combine]") {
  auto less = [](int a, int b) { return a < b; };
  for (size_t n : {0, 1, 255, 256, 257, 5000, 100'000}) {
    for (uint64_t distinct : {uint64_t{1} << 62, uint64_t{3}, uint64_t{1000}}) {
      INFO("n = " << n << ", distinct hashes = " << distinct);
      std::vector<Pair> pairs = Pairs(n, std::min<uint64_t>(distinct, n + 1), n + distinct);
      std::vector<Pair> expected = pairs;
      std::sort(expected.begin(), expected.end());
      SortByHash(pairs, less);
      CHECK(pairs == expected);
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
  SortByHash(edges, less);
  CHECK(edges == expected);
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

}  // namespace
}  // namespace kiln::runtime
