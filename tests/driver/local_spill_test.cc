// Operators that hold a whole partition, run in local mode with 1.5 MiB of managed memory
// ((450 MiB - 300 MiB) * 0.01) so that they must spill: their results are exact and in
// the same order as with ample memory, the spills are reported, and no spill file is
// left behind.
#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "driver/kiln.h"
#include "tests/kiln_catch.h"
#include "tests/support/test_util.h"

namespace kiln {
namespace {

using Pair = std::pair<std::string, int64_t>;
using test::TempDir;

// A local[2] application in `scratch`, with little memory or with the default 1g.
Context Local(const TempDir& scratch, bool small) {
  std::vector<std::string> conf = {"kiln.ui.showConsoleProgress=false",
                                   "kiln.local.dir=" + scratch.path()};
  if (small) {
    conf.insert(conf.end(), {"kiln.driver.memory=450m", "kiln.memory.fraction=0.01"});
  }
  return Context(ContextOptions{.master = "local[2]",
                                .app_name = small ? "spill-small" : "spill-ample",
                                .conf = conf,
                                .exit_on_failure = false});
}

// n records over `distinct` keys ("key-<i>"), values 0..n-1 in order.
std::vector<Pair> Records(int64_t n, int64_t distinct) {
  std::vector<Pair> records;
  records.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    records.emplace_back("key-" + std::to_string((i * 7919) % distinct), i);
  }
  return records;
}

int64_t Spills(Context& ctx) {
  int64_t spills = 0;
  for (const StageMetrics& s : ctx.last_job_stages()) spills += s.spill_count;
  return spills;
}

// What `job(ctx)` returns with the default memory, where nothing spills.
template <class Job>
auto WithAmpleMemory(const TempDir& scratch, Job job) {
  Context ctx = Local(scratch, false);
  auto result = job(ctx);
  CHECK(Spills(ctx) == 0);
  return result;
}

// Files named spill-* anywhere under `dir`.
int SpillFilesUnder(const std::string& dir) {
  int n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.path().filename().string().starts_with("spill-") && e.is_regular_file()) ++n;
  }
  return n;
}

TEST_CASE("spill: sort_by_key beyond memory is exact, stable and the same as in memory",
          "[local][spill]") {
  const std::vector<Pair> input = Records(200'000, 50'000);
  std::vector<Pair> expected = input;
  std::stable_sort(expected.begin(), expected.end(),
                   [](const Pair& a, const Pair& b) { return a.first < b.first; });
  auto sort = [&](Context& ctx) {
    return ctx.parallelize(input, 4).sort_by_key(true, 3).collect();
  };
  TempDir scratch("kiln-spill-");
  const std::vector<Pair> ample = WithAmpleMemory(scratch, sort);
  Context ctx = Local(scratch, true);
  const std::vector<Pair> small = sort(ctx);
  CHECK(small == expected);
  CHECK(small == ample);
  std::vector<StageMetrics> stages = ctx.last_job_stages();
  REQUIRE(!stages.empty());
  CHECK(stages.back().spill_count > 0);
  CHECK(stages.back().disk_bytes_spilled > 0);
  CHECK(stages.back().memory_bytes_spilled > stages.back().disk_bytes_spilled / 8);
  CHECK(SpillFilesUnder(scratch.path()) == 0);
  // Descending too.
  std::vector<Pair> desc = ctx.parallelize(input, 4).sort_by_key(false, 3).collect();
  std::vector<Pair> expected_desc = input;
  std::stable_sort(expected_desc.begin(), expected_desc.end(),
                   [](const Pair& a, const Pair& b) { return b.first < a.first; });
  CHECK(desc == expected_desc);
  CHECK(Spills(ctx) > 0);
}

TEST_CASE("spill: sort_by_key on integer and floating keys beyond memory, both ways",
          "[local][spill]") {
  // Integer keys are ordered by their prefix alone, floating ones by the keys kept
  // beside the buffer: both must spill and come back as a stable sort would order them.
  std::vector<std::pair<int64_t, std::string>> ints;
  std::vector<std::pair<double, int64_t>> doubles;
  for (int64_t i = 0; i < 150'000; ++i) {
    const int64_t key = (i * 7919) % 40'001 - 20'000;  // both signs, duplicates
    ints.emplace_back(key, "value-" + std::to_string(i));
    doubles.emplace_back(static_cast<double>(key) / 3.0, i);
  }
  TempDir scratch("kiln-spill-");
  Context ctx = Local(scratch, true);
  for (bool ascending : {true, false}) {
    INFO((ascending ? "ascending" : "descending"));
    auto expected_ints = ints;
    std::stable_sort(expected_ints.begin(), expected_ints.end(), [&](const auto& a, const auto& b) {
      return ascending ? a.first < b.first : b.first < a.first;
    });
    CHECK(ctx.parallelize(ints, 4).sort_by_key(ascending, 3).collect() == expected_ints);
    CHECK(Spills(ctx) > 0);
    auto expected_doubles = doubles;
    std::stable_sort(expected_doubles.begin(), expected_doubles.end(),
                     [&](const auto& a, const auto& b) {
                       return ascending ? a.first < b.first : b.first < a.first;
                     });
    CHECK(ctx.parallelize(doubles, 4).sort_by_key(ascending, 3).collect() == expected_doubles);
    CHECK(Spills(ctx) > 0);
  }
  CHECK(SpillFilesUnder(scratch.path()) == 0);
}

TEST_CASE("spill: reduce_by_key with many keys beyond memory is exact and in the same order",
          "[local][spill]") {
  const std::vector<Pair> input = Records(300'000, 100'000);
  std::map<std::string, int64_t> expected;
  for (const auto& [k, v] : input) expected[k] += v;
  auto sum_by_key = [&](Context& ctx) {
    return ctx.parallelize(input, 4)
        .reduce_by_key([](int64_t a, int64_t b) { return a + b; }, 3)
        .collect();
  };
  TempDir scratch("kiln-spill-");
  const std::vector<Pair> ample = WithAmpleMemory(scratch, sum_by_key);
  Context ctx = Local(scratch, true);
  const std::vector<Pair> small = sum_by_key(ctx);
  CHECK(small == ample);
  CHECK(std::map<std::string, int64_t>(small.begin(), small.end()) == expected);
  CHECK(small.size() == expected.size());
  CHECK(Spills(ctx) > 0);
  CHECK(SpillFilesUnder(scratch.path()) == 0);
}

TEST_CASE("spill: reduce_by_key and combine_by_key on dense integer keys beyond memory",
          "[local][spill]") {
  // Integer keys 0..29,999, each ten times: both sides of the shuffle combine them in a
  // dense window (combine_table.h), which must keep each key's values in order and be
  // spilled like the hash map.
  using Values = std::vector<int64_t>;
  std::vector<std::pair<int64_t, int64_t>> input;
  std::map<int64_t, Values> expected;
  std::map<int64_t, int64_t> expected_sums;
  for (int64_t i = 0; i < 300'000; ++i) {
    input.emplace_back((i * 7919) % 30'000, i);
    expected[input.back().first].push_back(i);  // partitions are ranges: input order
    expected_sums[input.back().first] += i;
  }
  auto jobs = [&](Context& ctx) {
    auto pairs = ctx.parallelize(input, 4);
    auto sums = pairs.reduce_by_key([](int64_t a, int64_t b) { return a + b; }, 3).collect();
    auto lists = pairs
                     .combine_by_key([](int64_t v) { return Values{v}; },
                                     [](Values c, int64_t v) {
                                       c.push_back(v);
                                       return c;
                                     },
                                     [](Values a, Values b) {
                                       a.insert(a.end(), b.begin(), b.end());
                                       return a;
                                     },
                                     3)
                     .collect();
    return std::make_pair(sums, lists);
  };
  TempDir scratch("kiln-spill-");
  const auto ample = WithAmpleMemory(scratch, jobs);
  CHECK(std::map<int64_t, Values>(ample.second.begin(), ample.second.end()) == expected);
  Context ctx = Local(scratch, true);
  const auto small = jobs(ctx);
  CHECK(Spills(ctx) > 0);
  CHECK(small == ample);
  CHECK(std::map<int64_t, Values>(small.second.begin(), small.second.end()) == expected);
  CHECK(std::map<int64_t, int64_t>(small.first.begin(), small.first.end()) == expected_sums);
  CHECK(small.first.size() == expected.size());
  CHECK(SpillFilesUnder(scratch.path()) == 0);
}

TEST_CASE("spill: group_by_key beyond memory keeps every value in arrival order",
          "[local][spill]") {
  const std::vector<Pair> input = Records(600'000, 20'000);
  std::map<std::string, std::vector<int64_t>> expected;
  for (const auto& [k, v] : input) expected[k].push_back(v);  // input order = arrival order
  TempDir scratch("kiln-spill-");
  Context ctx = Local(scratch, true);
  auto groups = ctx.parallelize(input, 4).group_by_key(3).collect();
  CHECK(Spills(ctx) > 0);
  std::map<std::string, std::vector<int64_t>> got(groups.begin(), groups.end());
  CHECK(got.size() == groups.size());
  CHECK(got == expected);
  CHECK(SpillFilesUnder(scratch.path()) == 0);
}

TEST_CASE("spill: cogroup beyond memory keeps every value of both sides in arrival order",
          "[local][spill]") {
  const std::vector<Pair> left = Records(400'000, 20'000);
  std::vector<std::pair<std::string, std::string>> right;
  for (int64_t i = 0; i < 200'000; ++i) {
    right.emplace_back(left[static_cast<size_t>(i * 2)].first, "r" + std::to_string(i));
  }
  right.emplace_back("only on the right", "x");
  using Groups = std::pair<std::vector<int64_t>, std::vector<std::string>>;
  std::map<std::string, Groups> expected;
  for (const auto& [k, v] : left) expected[k].first.push_back(v);
  for (const auto& [k, w] : right) expected[k].second.push_back(w);
  TempDir scratch("kiln-spill-");
  Context ctx = Local(scratch, true);
  // One partition per side: arrival order is then the input's order.
  auto groups = ctx.parallelize(left, 1).cogroup(ctx.parallelize(right, 1), 3).collect();
  CHECK(Spills(ctx) > 0);
  std::map<std::string, Groups> got(groups.begin(), groups.end());
  CHECK(got.size() == groups.size());
  CHECK(got == expected);
  CHECK(SpillFilesUnder(scratch.path()) == 0);
}

TEST_CASE("spill: join and left_outer_join beyond memory give the in-memory output, in order",
          "[local][spill]") {
  // Left: 150k records over 50k keys; right: 100k records over keys 0..74999 (some left
  // keys have no match, some right keys no partner).
  std::vector<std::pair<int64_t, int64_t>> left;
  for (int64_t i = 0; i < 150'000; ++i) left.emplace_back((i * 7919) % 50'000, i);
  std::vector<std::pair<int64_t, std::string>> right;
  for (int64_t i = 0; i < 100'000; ++i) right.emplace_back(i % 75'000, "r" + std::to_string(i));
  auto joins = [&](Context& ctx) {
    auto l = ctx.parallelize(left, 4);
    auto r = ctx.parallelize(right, 3);
    return std::make_pair(l.join(r, 3).collect(), l.left_outer_join(r, 3).collect());
  };
  TempDir scratch("kiln-spill-");
  const auto ample = WithAmpleMemory(scratch, joins);
  Context ctx = Local(scratch, true);
  auto inner = ctx.parallelize(left, 4).join(ctx.parallelize(right, 3), 3).collect();
  CHECK(Spills(ctx) > 0);
  auto outer = ctx.parallelize(left, 4).left_outer_join(ctx.parallelize(right, 3), 3).collect();
  CHECK(Spills(ctx) > 0);
  CHECK(inner == ample.first);
  CHECK(outer == ample.second);
  // Against a reference: every (left, right) pair with equal keys.
  std::multimap<int64_t, std::string> by_key;
  for (const auto& [k, w] : right) by_key.emplace(k, w);
  size_t expected_inner = 0;
  size_t expected_outer = 0;
  for (const auto& [k, v] : left) {
    const size_t n = by_key.count(k);
    expected_inner += n;
    expected_outer += n == 0 ? 1 : n;
  }
  CHECK(inner.size() == expected_inner);
  CHECK(outer.size() == expected_outer);
  for (const auto& [k, vw] : inner) {
    CHECK(left[static_cast<size_t>(vw.first)].first == k);
    CHECK(right[static_cast<size_t>(std::stoll(vw.second.substr(1)))].first == k);
  }
  CHECK(SpillFilesUnder(scratch.path()) == 0);
}

// The two sides of the join tests: left keys 0..59999 (2 or 3 records each), right
// keys 0..79999 (keys < 40000 three times, the rest twice).
std::pair<std::vector<std::pair<int64_t, int64_t>>, std::vector<std::pair<int64_t, int64_t>>>
JoinSides() {
  std::vector<std::pair<int64_t, int64_t>> left;
  for (int64_t i = 0; i < 150'000; ++i) left.emplace_back((i * 7919) % 60'000, i);
  std::vector<std::pair<int64_t, int64_t>> right;
  for (int64_t i = 0; i < 200'000; ++i) right.emplace_back(i % 80'000, -i);
  return {std::move(left), std::move(right)};
}

TEST_CASE("spill: joins with a partitioned side beyond memory give the in-memory output",
          "[local][spill]") {
  const auto sides = JoinSides();  // not a structured binding: lambdas below capture them
  const auto& left = sides.first;
  const auto& right = sides.second;
  auto sum = [](int64_t a, int64_t b) { return a + b; };
  // The reduced side is placed by key: it stays, the other side is shuffled to it.
  auto joins = [&](Context& ctx) {
    auto reduced = ctx.parallelize(left, 4).reduce_by_key(sum, 3);
    auto other = ctx.parallelize(right, 3);
    return std::make_tuple(reduced.join(other).collect(), other.join(reduced).collect(),
                           reduced.left_outer_join(other).collect());
  };
  TempDir scratch("kiln-spill-");
  const auto ample = WithAmpleMemory(scratch, joins);
  Context ctx = Local(scratch, true);
  const auto small = joins(ctx);
  CHECK(Spills(ctx) > 0);  // of the last job
  CHECK(std::get<0>(small) == std::get<0>(ample));
  CHECK(std::get<1>(small) == std::get<1>(ample));
  CHECK(std::get<2>(small) == std::get<2>(ample));
  CHECK(std::get<0>(small).size() == 160'000u);  // keys < 40000 match 3 times, the rest twice
  CHECK(SpillFilesUnder(scratch.path()) == 0);
}

TEST_CASE("spill: a join of two sides placed alike beyond memory gives the in-memory output",
          "[local][spill][join]") {
  const auto sides = JoinSides();  // not a structured binding: lambdas below capture them
  const auto& left = sides.first;
  const auto& right = sides.second;
  auto sum = [](int64_t a, int64_t b) { return a + b; };
  // Both sides placed into 3 partitions: the join runs where they are, its table (the
  // right side, several values per key) goes to disk.
  auto join = [&](Context& ctx) {
    auto reduced = ctx.parallelize(left, 4).reduce_by_key(sum, 3);
    auto grouped = ctx.parallelize(right, 3).group_by_key(3).flat_map_values(
        [](const std::vector<int64_t>& vs) { return vs; });
    return reduced.join(grouped).collect();
  };
  TempDir scratch("kiln-spill-");
  const auto ample = WithAmpleMemory(scratch, join);
  Context ctx = Local(scratch, true);
  const auto small = join(ctx);
  CHECK(Spills(ctx) > 0);
  CHECK(small == ample);
  CHECK(small.size() == 160'000u);  // keys < 40000 match 3 times, the rest twice
  CHECK(SpillFilesUnder(scratch.path()) == 0);
}

TEST_CASE("spill: streaming map_partitions sees a partition beyond memory whole and in order",
          "[local][spill]") {
  const std::vector<Pair> input = Records(200'000, 200'000);
  // Per partition: its record count, whether values came in increasing order (they do
  // within each of parallelize's slices), and the sum of the keys' lengths; then every
  // record again with its value doubled.
  using Out = std::pair<std::string, int64_t>;
  auto job = [&](Context& ctx) {
    return ctx.parallelize(input, 2)
        .map_partitions([](kiln::PartitionInput<Pair>& in, kiln::Emit<Out>& out) {
          int64_t n = 0, key_bytes = 0, last = -1;
          bool ordered = true;
          for (Pair& p : in) {
            ++n;
            key_bytes += static_cast<int64_t>(p.first.size());
            ordered = ordered && p.second > last;
            last = p.second;
            out(Out(std::move(p.first), 2 * p.second));
          }
          out(Out("#stats", n * 1'000'000'000 + key_bytes * 10 + (ordered ? 1 : 0)));
        })
        .collect();
  };
  TempDir scratch("kiln-spill-");
  const std::vector<Out> ample = WithAmpleMemory(scratch, job);
  Context ctx = Local(scratch, true);
  const std::vector<Out> small = job(ctx);
  CHECK(small == ample);
  REQUIRE(small.size() == input.size() + 2);
  CHECK(small[0] == Out(input[0].first, 0));
  int64_t first_key_bytes = 0;  // of the first partition: the first half of the input
  for (size_t i = 0; i < 100'000; ++i)
    first_key_bytes += static_cast<int64_t>(input[i].first.size());
  CHECK(small[100'000] ==
        Out("#stats", int64_t{100'000} * 1'000'000'000 + 10 * first_key_bytes + 1));
  CHECK(small.back().first == "#stats");
  int64_t sum = 0;
  for (const Out& o : small) sum += o.first == "#stats" ? 0 : o.second;
  CHECK(sum == int64_t{200'000} * 199'999);
  CHECK(Spills(ctx) > 0);
  CHECK(SpillFilesUnder(scratch.path()) == 0);
}

TEST_CASE("spill: one group_by_key key larger than task memory fails naming it, no OOM",
          "[local][spill]") {
  std::vector<Pair> input;
  for (int64_t i = 0; i < 400'000; ++i) input.emplace_back("hot", i);
  TempDir scratch("kiln-spill-");
  Context ctx = Local(scratch, true);
  try {
    ctx.parallelize(input, 4).group_by_key(2).count();
    FAIL("the job should have failed");
  } catch (const JobFailed& e) {
    const std::string message = e.what();
    INFO(message);
    CHECK(message.find("group_by_key") != std::string::npos);
    CHECK(message.find("the key with hash") != std::string::npos);
    CHECK(message.find("partition 0 has") != std::string::npos);
    CHECK(message.find("salt") != std::string::npos);
  }
  CHECK(SpillFilesUnder(scratch.path()) == 0);
}

}  // namespace
}  // namespace kiln
