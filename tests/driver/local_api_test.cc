// The Dataset API end to end in local mode, in this process: real task threads, real
// shuffle files in a temporary directory.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <sstream>
#include <stdexcept>

#include "driver/kiln.h"
#include "tests/driver/local_test_util.h"
#include "tests/kiln_catch.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;
using KV = std::pair<std::string, int64_t>;

using test::Local;
using test::Range;

struct TempDir {
  TempDir() {
    char templ[] = "/tmp/kiln-local-test-XXXXXX";
    path = mkdtemp(templ);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string path;
};

TEST_CASE("local: narrow operations fuse and keep order", "[local]") {
  int64_t add = 10;  // captured by value and shipped with the closure
  auto ds = Local()
                .parallelize(Range(1000), 4)
                .map([add](int64_t x) { return x + add; })
                .filter([](int64_t x) { return x % 3 == 0; });
  std::vector<int64_t> expected;
  for (int64_t x = 0; x < 1000; ++x) {
    if ((x + 10) % 3 == 0) expected.push_back(x + 10);
  }
  CHECK(ds.num_partitions() == 4);
  CHECK(ds.collect() == expected);
  CHECK(ds.count() == static_cast<int64_t>(expected.size()));
  CHECK(ds.take(3) == std::vector<int64_t>(expected.begin(), expected.begin() + 3));
  CHECK(ds.reduce([](int64_t a, int64_t b) { return a + b; }) ==
        std::accumulate(expected.begin(), expected.end(), int64_t{0}));
}

TEST_CASE("local: flat_map in both forms and map_partitions", "[local]") {
  auto lines = Local().parallelize(std::vector<std::string>{"a b", "", "c d e"}, 2);
  auto emitted = lines.flat_map([](const std::string& s, Emit<std::string>& out) {
    std::istringstream in(s);
    std::string w;
    while (in >> w) out(w);
  });
  auto returned = lines.flat_map([](const std::string& s) {
    std::vector<char> chars(s.begin(), s.end());
    return chars;
  });
  CHECK(emitted.collect() == std::vector<std::string>{"a", "b", "c", "d", "e"});
  CHECK(returned.count() == 8);
  auto sizes = Local().parallelize(Range(10), 3).map_partitions([](std::vector<int64_t> part) {
    return std::vector<size_t>{part.size()};
  });
  CHECK(sizes.collect() == std::vector<size_t>{3, 3, 4});
}

TEST_CASE("local: reduce_by_key, group_by_key, join", "[local]") {
  std::vector<KV> pairs;
  std::map<std::string, int64_t> sums;
  for (int i = 0; i < 5000; ++i) {
    std::string key = "k" + std::to_string(i % 37);
    pairs.emplace_back(key, i);
    sums[key] += i;
  }
  auto ds = Local().parallelize(pairs, 5);
  auto reduced = ds.reduce_by_key([](int64_t a, int64_t b) { return a + b; }, 3).collect();
  CHECK(std::map<std::string, int64_t>(reduced.begin(), reduced.end()) == sums);
  CHECK(reduced.size() == sums.size());

  auto grouped = ds.group_by_key(4).collect();
  REQUIRE(grouped.size() == 37);
  for (auto& [key, values] : grouped) {
    CHECK(std::accumulate(values.begin(), values.end(), int64_t{0}) == sums[key]);
  }

  auto names = Local().parallelize(
      std::vector<std::pair<std::string, std::string>>{
          {"k1", "one"}, {"k2", "two"}, {"k2", "deux"}, {"zz", "none"}},
      2);
  auto joined = ds.filter([](const KV& kv) { return kv.second < 40; }).join(names, 2).collect();
  // k1: 1, 38; k2: 2, 39 -> 2 + 2*2 = 6 rows; zz matches nothing.
  CHECK(joined.size() == 6);
  for (auto& [key, vw] : joined) CHECK((key == "k1" || key == "k2"));
}

TEST_CASE("local: left_outer_join keeps unmatched left records", "[local]") {
  auto left = Local().parallelize(
      std::vector<std::pair<int64_t, std::string>>{{1, "a"}, {2, "b"}, {3, "c"}}, 2);
  auto right =
      Local().parallelize(std::vector<std::pair<int64_t, int64_t>>{{2, 20}, {2, 21}, {4, 40}}, 2);
  auto rows = left.left_outer_join(right, 3).collect();
  std::sort(rows.begin(), rows.end());
  using Row = std::pair<int64_t, std::pair<std::string, std::optional<int64_t>>>;
  CHECK(rows ==
        std::vector<Row>{
            {1, {"a", std::nullopt}}, {2, {"b", 20}}, {2, {"b", 21}}, {3, {"c", std::nullopt}}});
}

// Every join form gives the rows a plain nested loop gives, whichever side is already
// placed by key (reduce_by_key output, kept by map_values and filter) and so stays.
TEST_CASE("local: joins with a partitioned side equal the shuffled joins", "[local][join]") {
  using P = std::pair<int64_t, int64_t>;
  std::vector<P> left_rows, right_rows;
  for (int64_t i = 0; i < 3000; ++i) left_rows.emplace_back(i % 101, i);
  for (int64_t i = 0; i < 500; ++i) right_rows.emplace_back((i * 7) % 131, -i);
  // Left: one record per key, placed by key into 4 partitions; right: not placed.
  auto left = Local()
                  .parallelize(left_rows, 3)
                  .reduce_by_key([](int64_t a, int64_t b) { return a + b; }, 4)
                  .map_values([](int64_t v) { return v * 2; })
                  .filter([](const P& kv) { return kv.first != 5; });
  auto right = Local().parallelize(right_rows, 2);
  std::map<int64_t, int64_t> left_map;
  for (const P& kv : left.collect()) left_map[kv.first] = kv.second;
  REQUIRE(left_map.size() == 100);

  using Row = std::pair<int64_t, std::pair<int64_t, int64_t>>;
  std::vector<Row> expected;
  for (const P& r : right_rows) {
    auto it = left_map.find(r.first);
    if (it != left_map.end()) expected.push_back({r.first, {it->second, r.second}});
  }
  std::sort(expected.begin(), expected.end());
  auto sorted = [](std::vector<Row> rows) {
    std::sort(rows.begin(), rows.end());
    return rows;
  };
  auto stays_left = left.join(right);
  CHECK(stays_left.num_partitions() == 4);  // the partitioned side's partitions
  CHECK(sorted(stays_left.collect()) == expected);
  CHECK(sorted(left.join(right, 5).collect()) == expected);  // another count: both shuffled
  // The partitioned side on the right: it stays, the left side moves.
  auto swapped = right.join(left).collect();
  std::vector<Row> swapped_expected;
  for (const Row& r : expected)
    swapped_expected.push_back({r.first, {r.second.second, r.second.first}});
  CHECK(sorted(swapped) == sorted(swapped_expected));
  // Both sides partitioned alike (the joined output is placed by key too).
  auto self = stays_left.map_values([](std::pair<int64_t, int64_t> vw) { return vw.first; });
  auto both = left.join(self).collect();
  CHECK(both.size() == expected.size());
  for (const auto& [k, vw] : both) CHECK(vw.first == vw.second);

  using OuterRow = std::pair<int64_t, std::pair<int64_t, std::optional<int64_t>>>;
  std::vector<OuterRow> outer_expected;
  for (const auto& [k, v] : left_map) {
    bool matched = false;
    for (const P& r : right_rows) {
      if (r.first != k) continue;
      outer_expected.push_back({k, {v, r.second}});
      matched = true;
    }
    if (!matched) outer_expected.push_back({k, {v, std::nullopt}});
  }
  std::sort(outer_expected.begin(), outer_expected.end());
  auto outer = left.left_outer_join(right).collect();
  std::sort(outer.begin(), outer.end());
  CHECK(outer == outer_expected);
}

// take scans partitions incrementally: it must never run a partition it does not need
// (here, one whose records throw).
TEST_CASE("local: take reads only the partitions it needs", "[local]") {
  auto ds = Local().parallelize(Range(1000), 100).map([](int64_t x) {
    if (x >= 50) throw std::runtime_error("partition beyond the 5th was read");
    return x;
  });
  CHECK(ds.take(5) == std::vector<int64_t>{0, 1, 2, 3, 4});
  // 10 records in the first partition: 1.5 * 25 / 10 per partition -> 3 more.
  std::vector<int64_t> first25 = ds.take(25);
  CHECK(first25 == std::vector<int64_t>(Range(25)));
  CHECK(ds.take(0).empty());
  // Empty leading partitions: 1, then 4, then 20 partitions are scanned.
  auto late =
      Local().parallelize(Range(1000), 100).filter([](int64_t x) { return x >= 200 && x < 260; });
  CHECK(late.take(3) == std::vector<int64_t>{200, 201, 202});
  // More than there is: every partition, every record.
  CHECK(Local().parallelize(Range(30), 7).take(100) == Range(30));
}

TEST_CASE("local: sort_by_key orders globally, both ways", "[local]") {
  std::vector<std::pair<int64_t, int64_t>> pairs;
  for (int64_t i = 0; i < 3000; ++i) pairs.emplace_back((i * 7919) % 1009, i);
  auto ds = Local().parallelize(pairs, 4);
  auto up = ds.sort_by_key(true, 3);
  CHECK(up.num_partitions() == 3);
  auto asc = up.collect();
  REQUIRE(asc.size() == pairs.size());
  CHECK(std::is_sorted(asc.begin(), asc.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; }));
  auto desc = ds.sort_by_key(false, 3).collect();
  CHECK(std::is_sorted(desc.begin(), desc.end(),
                       [](const auto& a, const auto& b) { return a.first > b.first; }));
}

TEST_CASE("local: sort_by_key's ranges hold nearly equal shares of distinct keys", "[local]") {
  // 400,000 distinct pseudo-random keys in 5 input partitions, sorted into 8 ranges: with
  // about 1,000 sampled keys per range, each range is within 10% of the mean (with
  // Spark's 60 per range, a range errs by about 13%, one standard deviation).
  std::vector<std::pair<int64_t, int64_t>> pairs;
  uint64_t x = 88172645463325252ULL;
  for (int64_t i = 0; i < 400000; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;  // xorshift64
    pairs.emplace_back(static_cast<int64_t>(x >> 1), i);
  }
  auto sizes = Local()
                   .parallelize(pairs, 5)
                   .sort_by_key(true, 8)
                   .map_partitions([](std::vector<std::pair<int64_t, int64_t>> part) {
                     return std::vector<int64_t>{static_cast<int64_t>(part.size())};
                   })
                   .collect();
  REQUIRE(sizes.size() == 8);
  for (int64_t n : sizes) {
    INFO("range sizes " << Catch::Detail::stringify(sizes));
    CHECK(n > 45000);
    CHECK(n < 55000);
  }
}

TEST_CASE("local: sort_by_key on strings is bytewise and stable", "[local]") {
  // Keys sharing 8-byte prefixes, shorter than 8 bytes, empty, and with high bytes.
  const std::vector<std::string> keys = {"abcdefgh2", "abcdefgh1", "abcdefgh", "",         "a",
                                         "\xff",      "a\x80",     "zz",       "abcdefgh1"};
  std::vector<std::pair<std::string, int64_t>> pairs;
  for (int64_t i = 0; i < 900; ++i) pairs.emplace_back(keys[(i * 7) % keys.size()], i);
  auto ds = Local().parallelize(pairs, 1);
  for (bool ascending : {true, false}) {
    auto sorted = ds.sort_by_key(ascending, 3).collect();
    auto expected = pairs;
    std::stable_sort(expected.begin(), expected.end(), [&](const auto& a, const auto& b) {
      return ascending ? a.first < b.first : b.first < a.first;
    });
    CHECK(sorted == expected);
  }
}

TEST_CASE("local: reduce_by_key and group_by_key give the same order on every run", "[local]") {
  std::vector<std::pair<std::string, int64_t>> pairs;
  for (int64_t i = 0; i < 5000; ++i) pairs.emplace_back("k" + std::to_string(i * 7919 % 1201), i);
  auto sum = [](int64_t a, int64_t b) { return a + b; };
  auto ds = Local().parallelize(pairs, 4);
  const auto reduced = ds.reduce_by_key(sum, 3).collect();
  const auto grouped = ds.group_by_key(3).collect();
  for (int run = 0; run < 3; ++run) {
    // Every job builds new hash tables at new addresses; the order must not follow them.
    CHECK(ds.reduce_by_key(sum, 3).collect() == reduced);
    CHECK(ds.group_by_key(3).collect() == grouped);
  }
}

TEST_CASE("local: repartition and coalesce", "[local]") {
  auto ds = Local().parallelize(Range(100), 2);
  auto more = ds.repartition(7);
  CHECK(more.num_partitions() == 7);
  auto all = more.collect();
  std::sort(all.begin(), all.end());
  CHECK(all == Range(100));
  auto fewer = more.coalesce(3);
  CHECK(fewer.num_partitions() == 3);
  CHECK(fewer.count() == 100);
  CHECK(ds.coalesce(5).num_partitions() == 2);  // coalesce never grows
}

TEST_CASE("local: text_file and save_as_text_file round trip", "[local]") {
  TempDir dir;
  {
    std::ofstream(dir.path + "/a.txt") << "one\r\ntwo\n\nthree";
    std::ofstream(dir.path + "/b.txt") << "four\n";
    std::ofstream(dir.path + "/_ignored") << "never\n";
  }
  auto lines = Local().text_file(dir.path);
  CHECK(lines.collect() == std::vector<std::string>{"one", "two", "", "three", "four"});
  std::string out = dir.path + "/out";
  lines.filter([](const std::string& s) { return !s.empty(); }).save_as_text_file(out);
  CHECK(fs::exists(out + "/_SUCCESS"));
  CHECK_FALSE(fs::exists(out + "/_temporary"));
  std::string all;
  for (int p = 0; p < lines.num_partitions(); ++p) {
    char name[32];
    std::snprintf(name, sizeof(name), "/part-%05d", p);
    std::ifstream in(out + name);
    all += std::string(std::istreambuf_iterator<char>(in), {});
  }
  CHECK(all == "one\ntwo\nthree\nfour\n");
  // An existing output directory is refused before any task runs.
  CHECK_THROWS_WITH(lines.save_as_text_file(out), Catch::Contains("already exists"));
}

TEST_CASE("local: a missing input path fails on the driver, naming it", "[local]") {
  CHECK_THROWS_WITH(Local().text_file("/no/such/input"), Catch::Contains("/no/such/input"));
}

TEST_CASE("local: a throwing task fails the job with its message", "[local]") {
  auto ds = Local().parallelize(Range(100), 2).map([](int64_t x) {
    if (x == 42) throw std::runtime_error("boom at 42");
    return x;
  });
  // Local mode tries a task once (Spark's rule), unless local[N,F] says otherwise.
  CHECK_THROWS_WITH(ds.count(), Catch::Contains("boom at 42") && Catch::Contains("failed 1 time,"));
  Context retrying(ContextOptions{.master = "local[2,3]", .exit_on_failure = false});
  auto again = retrying.parallelize(Range(100), 2).map([](int64_t x) {
    if (x == 42) throw std::runtime_error("boom at 42");
    return x;
  });
  CHECK_THROWS_WITH(again.count(),
                    Catch::Contains("boom at 42") && Catch::Contains("failed 3 times"));
  // The context stays usable.
  CHECK(Local().parallelize(Range(10), 2).count() == 10);
}

TEST_CASE("local: a failed job names the user's operation", "[local]") {
  auto throwing = Local().parallelize(Range(100), 2).map([](int64_t x) {
    if (x == 42) throw std::runtime_error("boom at 42");
    return std::pair<int64_t, int64_t>(x, x);
  });
  CHECK_THROWS_WITH(throwing.count(), Catch::StartsWith("count failed (job "));
  // sort_by_key runs a job of its own to sample its keys: the error says so.
  CHECK_THROWS_WITH(throwing.sort_by_key(),
                    Catch::StartsWith("sort_by_key (sampling its keys) failed (job "));
}

TEST_CASE("local: reduce of an empty dataset is an error", "[local]") {
  auto empty = Local().parallelize(std::vector<int64_t>{}, 2);
  CHECK(empty.count() == 0);
  CHECK_THROWS_WITH(empty.reduce([](int64_t a, int64_t b) { return a + b; }),
                    Catch::Contains("empty collection"));
}

TEST_CASE("local: a bad setting fails the Context naming the key, without exiting", "[local]") {
  CHECK_THROWS_WITH(
      Context(ContextOptions{
          .master = "local[1]", .conf = {"kiln.task.maxFailures=many"}, .exit_on_failure = false}),
      Catch::Contains("kiln.task.maxFailures"));
  CHECK_THROWS_AS(
      Context(ContextOptions{.conf = {"kiln.no.such.setting=1"}, .exit_on_failure = false}),
      JobFailed);
}

}  // namespace
}  // namespace kiln
