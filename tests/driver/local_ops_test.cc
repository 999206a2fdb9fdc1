// The operators of driver/dataset_ops.h in local mode, each against a reference computed
// here with plain loops, over empty datasets, one partition, many partitions and skewed
// keys.

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "driver/kiln.h"
#include "driver/sampling.h"
#include "tests/driver/local_test_util.h"
#include "tests/kiln_catch.h"

namespace kiln {
namespace {

using test::Local;
using test::Range;
using test::Sorted;
using Pair = std::pair<int64_t, int64_t>;

// Keys 0..9 with key 0 holding about half of the records (skewed), values x.
std::vector<Pair> Skewed(int64_t n) {
  std::vector<Pair> out;
  for (int64_t x = 0; x < n; ++x) out.emplace_back(x % 2 == 0 ? 0 : x % 10, x);
  return out;
}

// The partition counts each operator is tried with: one, a few, more than records.
const int kSlices[] = {1, 3, 40};

TEST_CASE("local ops: keys, values, flat_map_values and glom", "[local][ops]") {
  for (int slices : kSlices) {
    INFO("partitions: " << slices);
    auto pairs = Local().parallelize(Skewed(30), slices);
    std::vector<int64_t> keys, values;
    std::vector<Pair> flat;
    for (auto [k, v] : Skewed(30)) {
      keys.push_back(k);
      values.push_back(v);
      for (int64_t i = 0; i < v % 3; ++i) flat.emplace_back(k, v * 10 + i);
    }
    CHECK(pairs.keys().collect() == keys);
    CHECK(pairs.values().collect() == values);
    CHECK(pairs
              .flat_map_values([](int64_t v) {
                std::vector<int64_t> out;
                for (int64_t i = 0; i < v % 3; ++i) out.push_back(v * 10 + i);
                return out;
              })
              .collect() == flat);
    std::vector<std::vector<Pair>> parts = pairs.glom().collect();
    REQUIRE(static_cast<int>(parts.size()) == slices);
    std::vector<Pair> joined;
    for (auto& p : parts) joined.insert(joined.end(), p.begin(), p.end());
    CHECK(joined == Skewed(30));
  }
  // flat_map_values keeps the placement by key: a join after it moves only the other side.
  auto summed = Local().parallelize(Skewed(100), 4).reduce_by_key(std::plus<int64_t>(), 5);
  auto spread = summed.flat_map_values([](int64_t v) { return std::vector<int64_t>{v, -v}; });
  CHECK(spread.num_partitions() == 5);
  CHECK(Sorted(spread.join(Local().parallelize(Skewed(100), 3)).keys().distinct().collect()) ==
        Sorted(Local().parallelize(Skewed(100), 2).keys().distinct().collect()));
}

TEST_CASE("local ops: distinct, count_by_key and count_by_value", "[local][ops]") {
  std::vector<int64_t> data;
  for (int64_t x = 0; x < 500; ++x) data.push_back(x % 7 == 0 ? 3 : x % 23);
  std::map<int64_t, int64_t> by_value;
  for (int64_t x : data) ++by_value[x];
  std::vector<int64_t> distinct;
  for (auto& [x, n] : by_value) distinct.push_back(x);
  std::map<int64_t, int64_t> by_key;
  for (auto [k, v] : Skewed(301)) ++by_key[k];
  for (int slices : kSlices) {
    INFO("partitions: " << slices);
    auto ds = Local().parallelize(data, slices);
    CHECK(Sorted(ds.distinct().collect()) == distinct);
    CHECK(ds.distinct(7).num_partitions() == 7);
    CHECK(ds.count_by_value() == by_value);
    CHECK(Local().parallelize(Skewed(301), slices).count_by_key() == by_key);
  }
  auto none = Local().parallelize(std::vector<int64_t>{}, 3);
  CHECK(none.distinct().collect().empty());
  CHECK(none.count_by_value().empty());
  auto strings = Local().parallelize(std::vector<std::string>{"b", "a", "b", "", "a", "b"}, 2);
  CHECK(Sorted(strings.distinct().collect()) == std::vector<std::string>{"", "a", "b"});
  CHECK(strings.count_by_value() == std::map<std::string, int64_t>{{"", 1}, {"a", 2}, {"b", 3}});
}

TEST_CASE("local ops: combine_by_key, aggregate_by_key and fold_by_key", "[local][ops]") {
  std::map<int64_t, std::vector<int64_t>> groups;
  for (auto [k, v] : Skewed(1000)) groups[k].push_back(v);
  std::vector<std::pair<int64_t, std::vector<int64_t>>> lists;
  std::vector<std::pair<int64_t, std::array<int64_t, 2>>> sum_count;
  std::vector<Pair> maxima, sums;
  for (auto& [k, vs] : groups) {
    lists.emplace_back(k, Sorted(vs));
    const int64_t sum = std::accumulate(vs.begin(), vs.end(), int64_t{0});
    sum_count.push_back({k, {sum, static_cast<int64_t>(vs.size())}});
    maxima.emplace_back(k, *std::max_element(vs.begin(), vs.end()));
    sums.emplace_back(k, sum);
  }
  for (int slices : kSlices) {
    INFO("partitions: " << slices);
    auto pairs = Local().parallelize(Skewed(1000), slices);
    // A combiner of another type than the values: every value of a key, in a vector.
    auto combined = pairs.combine_by_key([](int64_t v) { return std::vector<int64_t>{v}; },
                                         [](std::vector<int64_t> c, int64_t v) {
                                           c.push_back(v);
                                           return c;
                                         },
                                         [](std::vector<int64_t> a, std::vector<int64_t> b) {
                                           a.insert(a.end(), b.begin(), b.end());
                                           return a;
                                         },
                                         4);
    CHECK(combined.num_partitions() == 4);
    auto got = combined.collect();
    for (auto& [k, vs] : got) std::sort(vs.begin(), vs.end());
    CHECK(Sorted(got) == lists);
    // (sum, count) per key from a zero of another type.
    auto aggregated = pairs.aggregate_by_key(
        std::array<int64_t, 2>{0, 0},
        [](std::array<int64_t, 2> acc, int64_t v) {
          return std::array<int64_t, 2>{acc[0] + v, acc[1] + 1};
        },
        [](std::array<int64_t, 2> a, std::array<int64_t, 2> b) {
          return std::array<int64_t, 2>{a[0] + b[0], a[1] + b[1]};
        });
    CHECK(Sorted(aggregated.collect()) == sum_count);
    // A zero of the values' type, the identity of f.
    CHECK(Sorted(pairs.fold_by_key(int64_t{0}, std::plus<int64_t>()).collect()) == sums);
    CHECK(Sorted(pairs
                     .fold_by_key(std::numeric_limits<int64_t>::min(),
                                  [](int64_t a, int64_t b) { return std::max(a, b); })
                     .collect()) == maxima);
  }
  CHECK(Local()
            .parallelize(std::vector<Pair>{}, 2)
            .fold_by_key(0, std::plus<int64_t>())
            .collect()
            .empty());
}

TEST_CASE("local ops: sort_by, take_ordered and top", "[local][ops]") {
  std::vector<int64_t> data;
  for (int64_t x = 0; x < 400; ++x) data.push_back((x * 7919) % 401 - 200);
  std::vector<int64_t> ascending = Sorted(data), descending = ascending;
  std::reverse(descending.begin(), descending.end());
  // By absolute value, ties kept apart by the value itself.
  auto by_abs = [](int64_t x) { return std::pair<int64_t, int64_t>(x < 0 ? -x : x, x); };
  std::vector<int64_t> abs_order = data;
  std::sort(abs_order.begin(), abs_order.end(),
            [&](int64_t a, int64_t b) { return by_abs(a) < by_abs(b); });
  for (int slices : kSlices) {
    INFO("partitions: " << slices);
    auto ds = Local().parallelize(data, slices);
    CHECK(ds.sort_by([](int64_t x) { return x; }).collect() == ascending);
    CHECK(ds.sort_by([](int64_t x) { return x; }, false, 3).collect() == descending);
    CHECK(ds.sort_by(by_abs).collect() == abs_order);
    for (int64_t n : {0, 1, 5, 399, 400, 1000}) {
      INFO("n: " << n);
      const auto k = static_cast<size_t>(std::min<int64_t>(n, 400));
      CHECK(ds.take_ordered(n) == std::vector<int64_t>(ascending.begin(), ascending.begin() + k));
      CHECK(ds.top(n) == std::vector<int64_t>(descending.begin(), descending.begin() + k));
    }
    CHECK(ds.take_ordered(3, std::greater<int64_t>()) ==
          std::vector<int64_t>(descending.begin(), descending.begin() + 3));
    CHECK(ds.top(3, std::greater<int64_t>()) ==
          std::vector<int64_t>(ascending.begin(), ascending.begin() + 3));
  }
  auto none = Local().parallelize(std::vector<int64_t>{}, 2);
  CHECK(none.take_ordered(3).empty());
  CHECK(none.sort_by([](int64_t x) { return x; }).collect().empty());
}

TEST_CASE("local ops: first, is_empty and the numbers' sum, min, max, mean and stats",
          "[local][ops]") {
  std::vector<double> data;
  for (int64_t x = 0; x < 1000; ++x) data.push_back(static_cast<double>((x * 37) % 101) / 4.0);
  const double sum = std::accumulate(data.begin(), data.end(), 0.0);
  const double mean = sum / static_cast<double>(data.size());
  double m2 = 0;
  for (double x : data) m2 += (x - mean) * (x - mean);
  for (int slices : kSlices) {
    INFO("partitions: " << slices);
    auto ds = Local().parallelize(data, slices);
    CHECK(ds.first() == data.front());
    CHECK_FALSE(ds.is_empty());
    CHECK(ds.sum() == Approx(sum));
    CHECK(ds.max() == *std::max_element(data.begin(), data.end()));
    CHECK(ds.min() == *std::min_element(data.begin(), data.end()));
    CHECK(ds.mean() == Approx(mean));
    const StatCounter s = ds.stats();
    CHECK(s.count() == 1000);
    CHECK(s.mean() == Approx(mean));
    CHECK(s.sum() == Approx(sum));
    CHECK(s.variance() == Approx(m2 / 1000));
    CHECK(s.sample_variance() == Approx(m2 / 999));
    CHECK(s.stdev() == Approx(std::sqrt(m2 / 1000)));
    CHECK(s.max() == ds.max());
    CHECK(s.min() == ds.min());
    // Integers sum exactly, in their own type.
    auto ints = Local().parallelize(Range(100'001), slices);
    CHECK(ints.sum() == int64_t{5'000'050'000});
    CHECK(ints.max() == 100'000);
    CHECK(ints.min() == 0);
  }
  // Only the last partition holds a record: first() still finds it.
  auto late = Local().parallelize(Range(40), 40).filter([](const int64_t& x) { return x == 39; });
  CHECK(late.first() == 39);
  CHECK_FALSE(late.is_empty());
  auto none = Local().parallelize(std::vector<double>{}, 3);
  CHECK(none.is_empty());
  CHECK(Local().parallelize(Range(10), 2).filter([](const int64_t&) { return false; }).is_empty());
  CHECK(none.sum() == 0.0);
  CHECK(std::isnan(none.mean()));
  CHECK(none.stats().count() == 0);
  CHECK(std::isnan(none.stats().variance()));
  CHECK_THROWS_WITH(none.first(), Catch::Contains("first: empty collection"));
  CHECK_THROWS_WITH(none.max(), Catch::Contains("max: empty collection"));
  CHECK_THROWS_WITH(none.min(), Catch::Contains("min: empty collection"));
}

TEST_CASE("local ops: map_partitions_with_index and zip_with_index", "[local][ops]") {
  for (int slices : kSlices) {
    INFO("partitions: " << slices);
    auto ds = Local().parallelize(Range(100), slices);
    // Each record tagged with its partition, compared with glom's partitions.
    auto tagged = ds.map_partitions_with_index(
        [](int partition, PartitionInput<int64_t>& in, Emit<Pair>& out) {
          for (int64_t x : in) out(Pair(partition, x));
        });
    std::vector<Pair> expected;
    const auto parts = ds.glom().collect();
    for (size_t p = 0; p < parts.size(); ++p) {
      for (int64_t x : parts[p]) expected.emplace_back(static_cast<int64_t>(p), x);
    }
    CHECK(tagged.collect() == expected);
    // Indexes in partition order, also with partitions a filter left empty.
    auto sparse = ds.filter([](const int64_t& x) { return x % 7 == 0 || x > 90; });
    std::vector<std::pair<int64_t, int64_t>> zipped;
    for (int64_t x : sparse.collect()) zipped.emplace_back(x, static_cast<int64_t>(zipped.size()));
    CHECK(sparse.zip_with_index().collect() == zipped);
  }
  // Below a coalesce, the index is the coalesced partition's.
  auto merged = Local().parallelize(Range(12), 6).coalesce(2);
  auto indexes = merged.map_partitions_with_index(
      [](int partition, PartitionInput<int64_t>& in, Emit<int64_t>& out) {
        for (int64_t x : in) out(partition * 100 + x);
      });
  CHECK(indexes.collect() == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 106, 107, 108, 109, 110, 111});
  CHECK(Local().parallelize(std::vector<int64_t>{}, 3).zip_with_index().collect().empty());
}

TEST_CASE("local ops: sample and random_split are seeded and exact in what they keep",
          "[local][ops]") {
  const std::vector<int64_t> data = Range(10'000);
  auto ds = Local().parallelize(data, 8);
  // The reference: the same generator per partition, over parallelize's slices.
  auto reference = [&](bool with_replacement, double fraction, uint64_t seed) {
    std::vector<int64_t> kept;
    for (int p = 0; p < 8; ++p) {
      internal::PartitionRandom random(seed, p);
      for (int64_t x = 10'000 * p / 8; x < 10'000 * (p + 1) / 8; ++x) {
        if (!with_replacement) {
          if (random.Uniform() < fraction) kept.push_back(x);
          continue;
        }
        for (int n = random.Poisson(fraction); n > 0; --n) kept.push_back(x);
      }
    }
    return kept;
  };
  const std::vector<int64_t> third = ds.sample(false, 0.3, 42).collect();
  CHECK(third == reference(false, 0.3, 42));
  CHECK(ds.sample(false, 0.3, 42).collect() == third);  // the same on every run
  CHECK(ds.sample(false, 0.3, 43).collect() != third);
  CHECK(third.size() > 2'700);  // 0.3 of 10,000 give or take 6.5 standard deviations
  CHECK(third.size() < 3'300);
  const std::vector<int64_t> doubled = ds.sample(true, 2.0, 7).collect();
  CHECK(doubled == reference(true, 2.0, 7));
  CHECK(doubled.size() > 19'000);
  CHECK(doubled.size() < 21'000);
  CHECK(ds.sample(false, 0.0, 1).collect().empty());
  CHECK(ds.sample(false, 1.0, 1).collect() == data);
  CHECK_THROWS_WITH(ds.sample(false, 1.5, 1),
                    Catch::Contains("sample: the fraction must be between 0 and 1"));
  CHECK_THROWS_WITH(ds.sample(true, -0.5, 1), Catch::Contains("sample: the fraction must be >= 0"));

  std::vector<Dataset<int64_t>> splits = ds.random_split({1, 2, 7}, 5);
  REQUIRE(splits.size() == 3);
  std::vector<int64_t> all;
  std::vector<size_t> sizes;
  for (auto& split : splits) {
    std::vector<int64_t> part = split.collect();
    CHECK(split.collect() == part);  // the same on every run
    sizes.push_back(part.size());
    all.insert(all.end(), part.begin(), part.end());
  }
  CHECK(Sorted(all) == data);  // each record in exactly one split
  CHECK(sizes[0] > 700);
  CHECK(sizes[0] < 1'300);
  CHECK(sizes[2] > 6'500);
  CHECK(sizes[2] < 7'500);
  CHECK_THROWS_WITH(ds.random_split({1, -1}, 1),
                    Catch::Contains("random_split: a weight is negative"));
  CHECK_THROWS_WITH(ds.random_split({0, 0}, 1),
                    Catch::Contains("random_split: the weights must sum to more than 0"));
}

TEST_CASE("local ops: right_outer_join, shuffled and with the right side in place",
          "[local][ops]") {
  using Out = std::pair<int64_t, std::pair<std::optional<int64_t>, int64_t>>;
  // Left: the skewed keys 0..9; right: keys 0..14 (10..14 unmatched), two values each.
  std::vector<Pair> right;
  for (int64_t k = 0; k < 15; ++k) {
    right.emplace_back(k, -k);
    right.emplace_back(k, 100 + k);
  }
  std::vector<Out> expected;
  for (auto [k, w] : right) {
    bool matched = false;
    for (auto [lk, v] : Skewed(200)) {
      if (lk != k) continue;
      expected.push_back(Out(k, {v, w}));
      matched = true;
    }
    if (!matched) expected.push_back(Out(k, {std::nullopt, w}));
  }
  std::sort(expected.begin(), expected.end());
  for (int slices : kSlices) {
    INFO("partitions: " << slices);
    auto left = Local().parallelize(Skewed(200), slices);
    auto right_side = Local().parallelize(right, 3);
    CHECK(Sorted(left.right_outer_join(right_side).collect()) == expected);
    // The right side already placed by key: it joins where it is, in its partitions.
    // (Each key's smaller value is -k; flat_map_values gives back both, -k and 100 + k.)
    auto placed = right_side.reduce_by_key([](int64_t a, int64_t b) { return std::min(a, b); }, 6)
                      .flat_map_values([](int64_t w) {
                        return std::vector<int64_t>{w, 100 - w};
                      });
    auto joined = left.right_outer_join(placed);
    CHECK(joined.num_partitions() == 6);
    CHECK(Sorted(joined.collect()) == expected);
  }
  auto none = Local().parallelize(std::vector<Pair>{}, 2);
  std::vector<Out> unmatched;
  for (auto [k, w] : right) unmatched.push_back(Out(k, {std::nullopt, w}));
  CHECK(Sorted(none.right_outer_join(Local().parallelize(right, 2)).collect()) ==
        Sorted(unmatched));
  CHECK(Local().parallelize(right, 2).right_outer_join(none).collect().empty());
}

TEST_CASE("local ops: cogroup, full_outer_join, intersection and subtract", "[local][ops]") {
  using Groups = std::pair<std::vector<int64_t>, std::vector<std::string>>;
  using Both = std::pair<std::optional<int64_t>, std::optional<std::string>>;
  // Left: the skewed keys 0..9; right: keys 5..14, one or two names each.
  std::vector<std::pair<int64_t, std::string>> right;
  for (int64_t k = 5; k < 15; ++k) {
    right.emplace_back(k, "r" + std::to_string(k));
    if (k % 2 == 0) right.emplace_back(k, "s" + std::to_string(k));
  }
  std::map<int64_t, Groups> groups;
  for (auto [k, v] : Skewed(300)) groups[k].first.push_back(v);
  for (const auto& [k, w] : right) groups[k].second.push_back(w);
  std::vector<std::pair<int64_t, Groups>> cogrouped(groups.begin(), groups.end());
  std::vector<std::pair<int64_t, Both>> full;
  for (const auto& [k, g] : groups) {
    if (g.second.empty()) {
      for (int64_t v : g.first) full.push_back({k, {v, std::nullopt}});
    } else if (g.first.empty()) {
      for (const std::string& w : g.second) full.push_back({k, {std::nullopt, w}});
    } else {
      for (int64_t v : g.first) {
        for (const std::string& w : g.second) full.push_back({k, {v, w}});
      }
    }
  }
  std::sort(full.begin(), full.end());
  // Groups come in arrival order: sorted here to compare (the reference's are sorted).
  auto sorted_groups = [](std::vector<std::pair<int64_t, Groups>> got) {
    for (auto& [k, g] : got) {
      std::sort(g.first.begin(), g.first.end());
      std::sort(g.second.begin(), g.second.end());
    }
    return Sorted(got);
  };
  for (int slices : kSlices) {
    INFO("partitions: " << slices);
    auto left = Local().parallelize(Skewed(300), slices);
    auto right_side = Local().parallelize(right, 2);
    auto co = left.cogroup(right_side, 4);
    CHECK(co.num_partitions() == 4);
    CHECK(sorted_groups(co.collect()) == cogrouped);
    CHECK(Sorted(left.full_outer_join(right_side).collect()) == full);
  }
  std::vector<int64_t> a, b;
  for (int64_t x = 0; x < 200; ++x) a.push_back(x % 50);  // each of 0..49 four times
  for (int64_t x = 30; x < 90; ++x) b.push_back(x);
  std::vector<int64_t> common, rest;
  for (int64_t x = 30; x < 50; ++x) common.push_back(x);
  for (int64_t x : a) {
    if (x < 30) rest.push_back(x);
  }
  for (int slices : kSlices) {
    INFO("partitions: " << slices);
    auto da = Local().parallelize(a, slices), db = Local().parallelize(b, 3);
    CHECK(Sorted(da.intersection(db).collect()) == common);
    CHECK(Sorted(db.intersection(da).collect()) == common);
    CHECK(Sorted(da.subtract(db).collect()) == Sorted(rest));  // duplicates kept
    CHECK(da.subtract(db, 5).num_partitions() == 5);
  }
  auto none = Local().parallelize(std::vector<int64_t>{}, 2);
  auto some = Local().parallelize(a, 3);
  CHECK(none.intersection(some).collect().empty());
  CHECK(some.intersection(none).collect().empty());
  CHECK(Sorted(some.subtract(none).collect()) == Sorted(a));
  CHECK(none.subtract(some).collect().empty());
}

TEST_CASE("local ops: partition_by, by key hash and by a user's partitioner", "[local][ops]") {
  for (int slices : kSlices) {
    INFO("partitions: " << slices);
    auto pairs = Local().parallelize(Skewed(500), slices);
    // By a partitioner: partition p holds exactly the keys k with k % 3 == p.
    auto by_residue = pairs.partition_by(3, [](int64_t k) { return static_cast<int>(k % 3); });
    const auto parts = by_residue.glom().collect();
    REQUIRE(parts.size() == 3);
    std::vector<Pair> all;
    for (size_t p = 0; p < parts.size(); ++p) {
      for (const Pair& kv : parts[p]) {
        CHECK(kv.first % 3 == static_cast<int64_t>(p));
        all.push_back(kv);
      }
    }
    CHECK(Sorted(all) == Sorted(Skewed(500)));
    // By key hash: a join with it joins where it is, and gives the shuffled join's output.
    auto hashed = pairs.partition_by(7);
    CHECK(hashed.num_partitions() == 7);
    CHECK(Sorted(hashed.collect()) == Sorted(Skewed(500)));
    auto other = Local().parallelize(Skewed(30), 2);
    CHECK(hashed.join(other).num_partitions() == 7);
    CHECK(Sorted(hashed.join(other).collect()) == Sorted(pairs.join(other, 3).collect()));
  }
  auto pairs = Local().parallelize(Skewed(20), 2);
  CHECK_THROWS_WITH(pairs.partition_by(3, [](int64_t k) { return static_cast<int>(k); }).count(),
                    Catch::Contains("partition_by: the partitioner returned") &&
                        Catch::Contains("outside [0, 3)"));
  CHECK_THROWS_WITH(pairs.partition_by(0), Catch::Contains("partition_by: the partition count"));
}

TEST_CASE("local ops: pipe runs a command per partition, from an argv", "[local][ops]") {
  std::vector<std::string> words;
  for (int i = 0; i < 2000; ++i) words.push_back("word" + std::to_string(i % 37) + " x");
  for (int slices : kSlices) {
    INFO("partitions: " << slices);
    auto ds = Local().parallelize(words, slices);
    std::vector<std::string> upper;
    for (const std::string& w : words) {
      std::string u = w;
      for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      upper.push_back(u);
    }
    // An argument with a space stays one argument: no shell splits it.
    CHECK(ds.pipe({"tr", "a-z", "A-Z"}).collect() == upper);
    CHECK(ds.pipe({"grep", "-c", "word1 x"})
              .map([](const std::string& n) { return std::stoll(n); })
              .reduce(std::plus<int64_t>()) == std::count(words.begin(), words.end(), "word1 x"));
    // Numbers and pairs go in as kiln::ToText writes them.
    auto pairs = Local().parallelize(std::vector<Pair>{{1, 2}, {3, 4}}, 1);
    CHECK(pairs.pipe({"cat"}).collect() == std::vector<std::string>{"(1,2)", "(3,4)"});
  }
  // A command that stops reading early: the rest of its input is dropped, not an error.
  auto many = Local().parallelize(Range(300'000), 2);
  CHECK(many.pipe({"head", "-n", "1"}).collect() == std::vector<std::string>{"0", "150000"});
  CHECK_THROWS_WITH(many.pipe({"kiln-no-such-command"}).count(),
                    Catch::Contains("pipe: cannot run \"kiln-no-such-command\""));
  CHECK_THROWS_WITH(many.pipe({"sh", "-c", "cat > /dev/null; exit 3"}).count(),
                    Catch::Contains("pipe: \"sh\" exited with code 3"));
  CHECK_THROWS_WITH(many.pipe({}), Catch::Contains("pipe: the command is empty"));
}

}  // namespace
}  // namespace kiln
