// Joins of two datasets placed by key hash alike (Spark's co-partitioned join): no
// shuffle of either side, outputs equal to the shuffled joins', in local mode.

#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "driver/kiln.h"
#include "tests/driver/local_test_util.h"
#include "tests/kiln_catch.h"

namespace kiln {
namespace {

using test::Local;
using test::Sorted;
using P = std::pair<int64_t, int64_t>;

// Shuffle bytes the stages of the last job read, and how many stages it ran.
struct LastJob {
  size_t stages = 0;
  int64_t shuffle_read = 0;
};
LastJob Measure() {
  LastJob job;
  for (const StageMetrics& stage : Local().last_job_stages()) {
    ++job.stages;
    job.shuffle_read += stage.shuffle_bytes_read;
  }
  return job;
}

std::vector<P> Rows(int64_t n, int64_t keys, int64_t sign) {
  std::vector<P> rows;
  for (int64_t i = 0; i < n; ++i) rows.emplace_back((i * 7919) % keys, sign * i);
  return rows;
}

// Every value of each key, in input order.
std::map<int64_t, std::vector<int64_t>> ByKey(const std::vector<P>& rows) {
  std::map<int64_t, std::vector<int64_t>> out;
  for (const auto& [k, v] : rows) out[k].push_back(v);
  return out;
}

TEST_CASE("local join: two sides placed alike join where they are, in one stage", "[local][join]") {
  auto sum = [](int64_t a, int64_t b) { return a + b; };
  const std::vector<P> left_rows = Rows(3000, 101, 1);
  const std::vector<P> right_rows = Rows(2000, 131, -1);
  // Left: one record per key; right: several per key (flat_map_values keeps the
  // placement). Keys 101..130 are on the right only. Fresh datasets for each measured
  // job, so that no shuffle output of an earlier job is reused.
  auto make_left = [&] { return Local().parallelize(left_rows, 3).reduce_by_key(sum, 4); };
  auto make_right = [&] {
    return Local()
        .parallelize(right_rows, 2)
        .group_by_key(4)
        .flat_map_values([](const std::vector<int64_t>& vs) { return vs; });
  };
  auto left = make_left();
  auto right = make_right();
  std::map<int64_t, int64_t> left_map;
  for (const P& kv : left.collect()) left_map[kv.first] = kv.second;
  const auto right_map = ByKey(right_rows);

  using Row = std::pair<int64_t, std::pair<int64_t, int64_t>>;
  std::vector<Row> inner;
  for (const auto& [k, v] : left_map) {
    auto it = right_map.find(k);
    if (it == right_map.end()) continue;
    for (int64_t w : it->second) inner.push_back({k, {v, w}});
  }
  std::sort(inner.begin(), inner.end());
  REQUIRE(inner.size() > 1000);

  auto joined = make_left().join(make_right());
  CHECK(joined.num_partitions() == 4);
  CHECK(Sorted(joined.collect()) == inner);
  // Both sides' map stages, then one stage that reduces, groups and joins: neither side
  // is shuffled again to the join.
  const LastJob in_place = Measure();
  CHECK(in_place.stages == 3);
  // With another partition count both sides are shuffled to the join: same records.
  CHECK(Sorted(make_left().join(make_right(), 5).collect()) == inner);
  const LastJob shuffled = Measure();
  CHECK(shuffled.stages == 5);
  CHECK(shuffled.shuffle_read > in_place.shuffle_read);

  // Swapped sides: the same pairs, values swapped.
  std::vector<Row> swapped;
  for (const Row& r : inner) swapped.push_back({r.first, {r.second.second, r.second.first}});
  CHECK(Sorted(right.join(left).collect()) == Sorted(swapped));

  // Outer joins keep the unmatched records of their side.
  using LeftRow = std::pair<int64_t, std::pair<int64_t, std::optional<int64_t>>>;
  std::vector<LeftRow> left_outer;
  for (const auto& [k, v] : left_map) {
    auto it = right_map.find(k);
    if (it == right_map.end()) left_outer.push_back({k, {v, std::nullopt}});
    if (it == right_map.end()) continue;
    for (int64_t w : it->second) left_outer.push_back({k, {v, w}});
  }
  CHECK(Sorted(make_left().left_outer_join(make_right()).collect()) == Sorted(left_outer));
  CHECK(Measure().stages == 3);

  using RightRow = std::pair<int64_t, std::pair<std::optional<int64_t>, int64_t>>;
  std::vector<RightRow> right_outer;
  for (const auto& [k, ws] : right_map) {
    auto it = left_map.find(k);
    for (int64_t w : ws) {
      right_outer.push_back(
          {k, {it == left_map.end() ? std::nullopt : std::optional(it->second), w}});
    }
  }
  auto right_joined = make_left().right_outer_join(make_right());
  CHECK(Sorted(right_joined.collect()) == Sorted(right_outer));
  CHECK(Measure().stages == 3);
  // Unmatched right keys are there (101..130).
  CHECK(Sorted(right_joined.keys().distinct().collect()).size() == 131);

  // A dataset joined with itself: each key with itself.
  auto self = left.join(left).collect();
  CHECK(self.size() == left_map.size());
  for (const auto& [k, vw] : self) CHECK(vw.first == vw.second);
}

TEST_CASE("local join: an iterative join with a cached side shuffles one side per round",
          "[local][join][cache]") {
  // PageRank's shape: links grouped by source and cached; each round joins them with
  // the ranks of the last round (placed by reduce_by_key) and sums the contributions.
  std::vector<P> edges;
  for (int64_t v = 0; v < 500; ++v) {
    for (int64_t j = 1; j <= 1 + v % 4; ++j) edges.emplace_back(v, (v * 31 + j * 17) % 500);
  }
  std::map<int64_t, std::vector<int64_t>> out_links = ByKey(edges);
  std::map<int64_t, double> expected;
  for (const auto& [v, dsts] : out_links) expected[v] = 1.0;
  constexpr int kRounds = 4;
  for (int round = 0; round < kRounds; ++round) {
    std::map<int64_t, double> sums;
    for (const auto& [v, dsts] : out_links) {
      auto it = expected.find(v);
      if (it == expected.end()) continue;
      for (int64_t d : dsts) sums[d] += it->second / static_cast<double>(dsts.size());
    }
    expected.clear();
    for (const auto& [v, s] : sums) expected[v] = 0.15 + 0.85 * s;
  }

  auto links = Local().parallelize(edges, 3).group_by_key(4).cache();
  auto ranks = links.map_values([](const std::vector<int64_t>&) { return 1.0; });
  for (int round = 0; round < kRounds; ++round) {
    ranks = links.join(ranks)
                .flat_map([](const std::pair<int64_t, std::pair<std::vector<int64_t>, double>>& l,
                             Emit<std::pair<int64_t, double>>& out) {
                  const auto& [dsts, rank] = l.second;
                  for (int64_t d : dsts) out.emplace(d, rank / static_cast<double>(dsts.size()));
                })
                .reduce_by_key([](double a, double b) { return a + b; }, 4)
                .map_values([](double s) { return 0.15 + 0.85 * s; });
  }
  std::map<int64_t, double> got;
  for (const auto& [v, r] : ranks.collect()) got[v] = r;
  REQUIRE(got.size() == expected.size());
  for (const auto& [v, r] : expected) CHECK(got[v] == Approx(r).epsilon(1e-12));
  // The links' shuffle, then one stage per round (join, contributions, map side of the
  // sum), then the last sum: no stage only moves the ranks to the links.
  CHECK(Measure().stages == 1 + kRounds + 1);
  links.unpersist();
}

}  // namespace
}  // namespace kiln
