// union_ and cartesian in local mode, against references computed here: both read
// several inputs in one stage or through one shuffle, over empty inputs, one partition
// and many.

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "driver/kiln.h"
#include "tests/driver/local_test_util.h"
#include "tests/kiln_catch.h"

namespace kiln {
namespace {

using test::Local;
using test::Range;
using test::Sorted;
using Pair = std::pair<int64_t, int64_t>;

std::vector<int64_t> Concat(std::vector<int64_t> a, const std::vector<int64_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// n, n+1, ..., n+count-1.
std::vector<int64_t> From(int64_t n, int64_t count) {
  std::vector<int64_t> v = Range(count);
  for (int64_t& x : v) x += n;
  return v;
}

TEST_CASE("local union_: one input's partitions after the other's, duplicates kept",
          "[local][union]") {
  for (auto [n, m] : {std::pair{1, 1}, std::pair{3, 2}, std::pair{40, 7}}) {
    INFO("partitions: " << n << " and " << m);
    const std::vector<int64_t> a = Range(25), b = From(20, 30);
    auto left = Local().parallelize(a, n).map([](int64_t x) { return x * 2; });
    auto right = Local().parallelize(b, m).filter([](int64_t x) { return x % 3 != 0; });
    auto both = left.union_(right);
    CHECK(both.num_partitions() == n + m);
    std::vector<int64_t> expected;
    for (int64_t x : a) expected.push_back(x * 2);
    for (int64_t x : b) {
      if (x % 3 != 0) expected.push_back(x);
    }
    CHECK(both.collect() == expected);
    CHECK(both.count() == static_cast<int64_t>(expected.size()));
    // Partition i of the union is partition i of the left side, then the right's.
    std::vector<std::vector<int64_t>> parts = both.glom().collect();
    std::vector<std::vector<int64_t>> left_parts = left.glom().collect();
    std::vector<std::vector<int64_t>> right_parts = right.glom().collect();
    REQUIRE(parts.size() == static_cast<size_t>(n + m));
    CHECK(std::equal(left_parts.begin(), left_parts.end(), parts.begin()));
    CHECK(std::equal(right_parts.begin(), right_parts.end(), parts.begin() + n));
    // Narrow operators after the union, a shuffle, and a coalesce across both inputs.
    CHECK(Sorted(both.map([](int64_t x) { return x % 7; }).distinct().collect()) == Range(7));
    CHECK(both.coalesce(2).collect() == expected);
    CHECK(both.coalesce(2).num_partitions() == std::min(2, n + m));
    // With itself: every record twice.
    CHECK(left.union_(left).collect() == Concat(left.collect(), left.collect()));
  }
}

TEST_CASE("local union_: empty inputs, chains of unions and cached inputs", "[local][union]") {
  auto empty = Local().parallelize(std::vector<int64_t>{}, 3);
  auto some = Local().parallelize(Range(10), 4);
  CHECK(empty.union_(empty).collect().empty());
  CHECK(empty.union_(some).collect() == Range(10));
  CHECK(some.union_(empty).collect() == Range(10));
  CHECK(empty.union_(some).num_partitions() == 7);

  auto three =
      some.union_(Local().parallelize(From(10, 5), 2)).union_(Local().parallelize(From(15, 5), 1));
  CHECK(three.num_partitions() == 7);
  CHECK(three.collect() == Range(20));
  CHECK(three.take(12) == Range(12));

  // A persisted input: the second job reads its blocks, the other input is computed.
  auto cached = Local().parallelize(Range(1000), 4).map([](int64_t x) { return x + 1; });
  cached.persist();  // Spark's default level, as cache()
  auto mixed = cached.union_(Local().parallelize(From(5000, 10), 2));
  CHECK(mixed.count() == 1010);
  CHECK(cached.is_cached());
  CHECK_THROWS_WITH(cached.persist(StorageLevel::kDiskOnly),
                    Catch::Contains("another storage level"));
  CHECK(mixed.reduce([](int64_t x, int64_t y) { return x + y; }) ==
        int64_t{1000 * 1001 / 2 + 5000 * 10 + 45});
  cached.unpersist();
}

TEST_CASE("local union_: inputs placed by key alike stay placed", "[local][union][join]") {
  auto sum = [](int64_t x, int64_t y) { return x + y; };
  auto a = Local().parallelize(std::vector<Pair>{{1, 1}, {2, 2}, {1, 3}}, 2).reduce_by_key(sum, 4);
  auto b = Local().parallelize(std::vector<Pair>{{2, 10}, {3, 30}}, 3).reduce_by_key(sum, 4);
  auto placed = a.union_(b);
  CHECK(placed.num_partitions() == 4);  // partition i holds both sides' keys of hash i
  CHECK(Sorted(placed.collect()) == std::vector<Pair>{{1, 4}, {2, 2}, {2, 10}, {3, 30}});
  CHECK(Sorted(placed.reduce_by_key(sum).collect()) == std::vector<Pair>{{1, 4}, {2, 12}, {3, 30}});
  // Each key in one partition only, both sides' records of it together.
  std::map<int64_t, std::set<size_t>> where;
  std::vector<std::vector<Pair>> parts = placed.glom().collect();
  for (size_t i = 0; i < parts.size(); ++i) {
    for (const Pair& kv : parts[i]) where[kv.first].insert(i);
  }
  CHECK(where.size() == 3);
  for (const auto& [key, partitions] : where) CHECK(partitions.size() == 1);
  auto joined = placed.join(Local().parallelize(std::vector<Pair>{{2, 7}}, 1));
  CHECK(Sorted(joined.collect()) ==
        std::vector<std::pair<int64_t, Pair>>{{2, {2, 7}}, {2, {10, 7}}});
  // Placed differently: the partitions are concatenated.
  auto c = Local().parallelize(std::vector<Pair>{{5, 5}}, 1).reduce_by_key(sum, 3);
  CHECK(a.union_(c).num_partitions() == 7);
}

// The reference cartesian product in Spark's order: for each pair of partitions (i, j),
// every record of a's partition i with every record of b's partition j.
template <class T, class U>
std::vector<std::pair<T, U>> Product(const std::vector<std::vector<T>>& a,
                                     const std::vector<std::vector<U>>& b) {
  std::vector<std::pair<T, U>> out;
  for (const auto& ai : a) {
    for (const auto& bj : b) {
      for (const T& t : ai) {
        for (const U& u : bj) out.emplace_back(t, u);
      }
    }
  }
  return out;
}

TEST_CASE("local cartesian: every pair, in n x m partitions, in Spark's order",
          "[local][cartesian]") {
  for (auto [n, m] : {std::pair{1, 1}, std::pair{3, 2}, std::pair{5, 9}}) {
    INFO("partitions: " << n << " and " << m);
    auto a = Local().parallelize(Range(12), n);
    std::vector<std::string> words = {"a", "bb", "a", "ccc", "dd", "e", "a"};
    auto b = Local().parallelize(words, m);
    auto product = a.cartesian(b);
    CHECK(product.num_partitions() == n * m);
    const auto expected = Product(a.glom().collect(), b.glom().collect());
    CHECK(expected.size() == 12 * words.size());
    CHECK(product.collect() == expected);
    CHECK(product.count() == 12 * static_cast<int64_t>(words.size()));
    // Partition i*m+j pairs a's partition i with b's partition j.
    std::vector<std::vector<std::pair<int64_t, std::string>>> parts = product.glom().collect();
    REQUIRE(parts.size() == static_cast<size_t>(n * m));
    auto a_parts = a.glom().collect();
    auto b_parts = b.glom().collect();
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < m; ++j) {
        CHECK(parts[static_cast<size_t>(i * m + j)] ==
              Product<int64_t, std::string>({a_parts[static_cast<size_t>(i)]},
                                            {b_parts[static_cast<size_t>(j)]}));
      }
    }
  }
}

TEST_CASE("local cartesian: empty sides, itself, and after a shuffle", "[local][cartesian]") {
  auto empty = Local().parallelize(std::vector<int64_t>{}, 2);
  auto some = Local().parallelize(Range(5), 2);
  CHECK(empty.cartesian(some).collect().empty());
  CHECK(some.cartesian(empty).collect().empty());
  CHECK(some.cartesian(empty).num_partitions() == 4);
  // With itself: all 25 ordered pairs.
  std::vector<Pair> pairs = Sorted(some.cartesian(some).collect());
  std::vector<Pair> all;
  for (int64_t x = 0; x < 5; ++x) {
    for (int64_t y = 0; y < 5; ++y) all.emplace_back(x, y);
  }
  CHECK(pairs == all);
  // Sides computed by shuffles, and the product shuffled again.
  auto counts = Local()
                    .parallelize(std::vector<std::string>{"x", "y", "x", "z", "x"}, 3)
                    .map([](const std::string& w) { return std::pair<std::string, int64_t>(w, 1); })
                    .reduce_by_key([](int64_t a, int64_t b) { return a + b; }, 2);
  auto scored =
      counts.cartesian(some.filter([](int64_t x) { return x < 2; }))
          .map([](const std::pair<std::pair<std::string, int64_t>, int64_t>& p) {
            return std::pair<std::string, int64_t>(p.first.first, p.first.second * p.second);
          })
          .reduce_by_key([](int64_t a, int64_t b) { return a + b; });
  CHECK(Sorted(scored.collect()) ==
        std::vector<std::pair<std::string, int64_t>>{{"x", 3}, {"y", 1}, {"z", 1}});
}

}  // namespace
}  // namespace kiln
