// api_app N K D — a Kiln application for the job tests (tests/jobs/api_test.cc): runs
// the Dataset API over the numbers 0..N-1 (in 5 partitions) and prints one line
// "name=value" per result; the test computes each value with its own code.
//
// K (an int) and D (a double) come from the command line and are captured by value in
// the functions, so the executors only know them from the shipped closures.
// Unordered results (shuffle outputs) are sorted here before printing; ordered ones
// (collect in partition order, sort_by_key) are printed as they come.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "driver/kiln.h"
#include "tests/apps/api_format.h"

namespace {

using ::kiln::test::api_format::Str;

template <class T>
void Print(const char* name, const T& value) {
  std::printf("%s=%s\n", name, Str(value).c_str());
}

template <class T>
std::vector<T> Sorted(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v;
}

using Pair = std::pair<int64_t, int64_t>;

// A path a shipped function can hold (closures are trivially copyable).
struct Path {
  std::array<char, 512> chars{};
};

// Accumulators over 0..n-1, with the task holding n/2 failing once after it added:
// a marker file (named for the application) tells the retry that the first attempt
// failed already. Only the retry's additions may count.
void Accumulators(kiln::Context& ctx, const kiln::Dataset<int64_t>& nums, int64_t n, double d) {
  kiln::LongAccumulator evens = ctx.long_accumulator("evens");
  kiln::DoubleAccumulator scaled = ctx.double_accumulator("scaled");
  auto last = ctx.collection_accumulator<int64_t>("last three");
  Path marker;
  const char* tmp = std::getenv("TMPDIR");
  std::snprintf(marker.chars.data(), marker.chars.size(), "%s/kiln-api-app-%s-failed-once",
                tmp != nullptr ? tmp : "/tmp", ctx.app_id().c_str());
  nums.foreach ([=](int64_t x) {
    if (x % 2 == 0) evens.add(1);
    scaled.add(static_cast<double>(x) * d);
    if (x >= n - 3) last.add(x);
    if (x == n / 2) {
      if (std::FILE* f = std::fopen(marker.chars.data(), "wx")) {  // the first attempt only
        std::fclose(f);
        throw std::runtime_error("api_app: fails once, after adding");
      }
    }
  });
  std::remove(marker.chars.data());
  Print("accumulator_long", evens.value());
  Print("accumulator_double", scaled.value());
  Print("accumulator_collection", Sorted(last.value()));
}

// Compressed text output read back by text_file and whole_text_files, in a directory
// named for the application (removed after).
void Files(kiln::Context& ctx, const kiln::Dataset<int64_t>& nums, int k) {
  const char* tmp = std::getenv("TMPDIR");
  const std::string dir =
      std::string(tmp != nullptr ? tmp : "/tmp") + "/kiln-api-app-" + ctx.app_id() + "-gzip";
  nums.map([k](int64_t x) { return x * k; }).save_as_text_file(dir, kiln::TextCompression::kGzip);
  Print("text_gzip",
        ctx.text_file(dir)
            .map([](const std::string& line) { return static_cast<int64_t>(std::stoll(line)); })
            .collect());
  std::vector<std::string> names;
  int64_t lines = 0;
  for (const auto& [path, text] : ctx.whole_text_files(dir).collect()) {
    names.push_back(std::filesystem::path(path).filename().string());
    lines += std::count(text.begin(), text.end(), '\n');
  }
  Print("whole_text_files", names);
  Print("whole_text_files_lines", lines);
  std::filesystem::remove_all(dir);
  // Object files: pairs written in the binary codec and read back, in order.
  const std::string objects = dir + "-objects";
  nums.map([k](int64_t x) { return Pair(x % (k + 2), x); }).save_as_object_file(objects);
  Print("object_file", ctx.object_file<Pair>(objects).collect());
  std::filesystem::remove_all(objects);
}

}  // namespace

int main(int argc, char** argv) {
  kiln::Context ctx(argc, argv);
  if (argc != 4) {
    std::fprintf(stderr, "usage: api_app N K D\n");
    return 2;
  }
  const int64_t n = std::atoll(argv[1]);
  const int k = std::atoi(argv[2]);
  const double d = std::strtod(argv[3], nullptr);

  std::vector<int64_t> data(static_cast<size_t>(n));
  std::iota(data.begin(), data.end(), 0);
  auto nums = ctx.parallelize(data, 5);
  Print("default_parallelism", static_cast<int64_t>(ctx.default_parallelism()));
  Print("partitions", static_cast<int64_t>(nums.num_partitions()));
  Print("collect", nums.collect());
  Print("count", nums.count());

  // Narrow operations, with captures.
  Print("map",
        nums.map([k, d](int64_t x) { return x * k + static_cast<int64_t>(x * d); }).collect());
  Print("filter", nums.filter([k](const int64_t& x) { return x % k == 0; }).collect());
  Print("flat_map_emit", nums.flat_map([k](const int64_t& x, kiln::Emit<int64_t>& out) {
                               for (int64_t i = 0; i < x % k; ++i) out(x * 10 + i);
                             })
                             .collect());
  Print("flat_map_vector", nums.flat_map([d](const int64_t& x) {
                                 std::vector<double> v;
                                 if (x % 4 == 0)
                                   v = {static_cast<double>(x) * d, -static_cast<double>(x) * d};
                                 return v;
                               })
                               .collect());
  Print("map_partitions",
        nums.map_partitions([k](std::vector<int64_t> part) {
              int64_t sum = 0;
              for (int64_t x : part) sum += x;
              return std::vector<int64_t>{static_cast<int64_t>(part.size()), sum * k};
            })
            .collect());

  // Keys and shuffles.
  auto keyed = nums.key_by([k](const int64_t& x) { return x % (k + 4); });
  Print("key_by", keyed.take(12));
  Print("reduce_by_key",
        Sorted(keyed.reduce_by_key([](int64_t a, int64_t b) { return a + b; }, 3).collect()));
  auto groups = nums.key_by([](const int64_t& x) { return "g" + std::to_string(x % 5); })
                    .group_by_key(4)
                    .collect();
  std::vector<std::pair<std::string, std::string>> grouped;
  for (auto& [key, values] : groups) grouped.emplace_back(key, Str(Sorted(values)));
  Print("group_by_key", Sorted(grouped));

  std::vector<std::pair<int64_t, std::string>> names;
  for (int64_t key = 0; key < 15; key += 2) names.emplace_back(key, "n" + std::to_string(key));
  names.emplace_back(4, "four");  // a key twice on the right
  auto left = nums.filter([](const int64_t& x) { return x < 50; }).key_by([](const int64_t& x) {
    return x % 10;
  });
  std::vector<std::string> joined;
  for (auto& [key, vw] : left.join(ctx.parallelize(names, 3)).collect()) {
    joined.push_back(Str(key) + ":" + Str(vw.first) + "/" + vw.second);
  }
  Print("join", Sorted(joined));
  std::vector<std::string> right_joined;
  for (auto& [key, vw] : left.right_outer_join(ctx.parallelize(names, 3)).collect()) {
    right_joined.push_back(Str(key) + ":" + (vw.first ? Str(*vw.first) : "-") + "/" + vw.second);
  }
  Print("right_outer_join", Sorted(right_joined));
  // Both sides placed by key hash into 3 partitions: the join moves neither.
  std::vector<std::string> joined_in_place;
  for (auto& [key, vw] :
       left.partition_by(3).join(ctx.parallelize(names, 2).partition_by(3)).collect()) {
    joined_in_place.push_back(Str(key) + ":" + Str(vw.first) + "/" + vw.second);
  }
  Print("join_in_place", Sorted(joined_in_place));
  std::vector<std::string> cogrouped, full_joined;
  for (auto& [key, sides] : left.cogroup(ctx.parallelize(names, 3)).collect()) {
    cogrouped.push_back(Str(key) + ":" + Str(Sorted(sides.first)) + "/" +
                        Str(Sorted(sides.second)));
  }
  Print("cogroup", Sorted(cogrouped));
  for (auto& [key, vw] : left.full_outer_join(ctx.parallelize(names, 3)).collect()) {
    full_joined.push_back(Str(key) + ":" + (vw.first ? Str(*vw.first) : "-") + "/" +
                          (vw.second ? *vw.second : "-"));
  }
  Print("full_outer_join", Sorted(full_joined));
  auto residues = nums.map([](int64_t x) { return x % 20; });
  auto shifted = nums.map([](int64_t x) { return x % 30 + 10; });
  // partition_by(k + 1, k % (k + 1)): partition p holds the keys with key % (K + 1) == p.
  std::vector<std::string> placed;
  const auto parts =
      keyed.partition_by(k + 1, [k](int64_t key) { return static_cast<int>(key % (k + 1)); })
          .glom()
          .collect();
  for (size_t p = 0; p < parts.size(); ++p) {
    std::vector<int64_t> keys;
    for (const Pair& kv : parts[p]) keys.push_back(kv.first);
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    placed.push_back(Str(static_cast<int64_t>(p)) + ":" + Str(keys));
  }
  Print("partition_by", placed);
  Print("partition_by_hash", Sorted(keyed.partition_by(6).collect()));
  // pipe: the command's stderr goes to the executor's log (the cluster test looks there).
  Print("pipe", nums.pipe({"sh", "-c", "echo kiln-pipe-stderr-marker >&2; tr 0-9 a-j"}).collect());
  Print("intersection", Sorted(residues.intersection(shifted).collect()));
  Print("subtract", Sorted(residues.subtract(shifted, 3).collect()));
  // union_ keeps partition order: the left side's records, then the right's.
  Print("union", nums.filter([k](int64_t x) { return x % k == 0; })
                     .union_(nums.map([k](int64_t x) { return x * k; }).coalesce(2))
                     .collect());
  std::vector<std::string> product;
  std::vector<int64_t> small(static_cast<size_t>(k) + 1);
  std::iota(small.begin(), small.end(), 0);
  for (auto& [a, b] : ctx.parallelize(small, 2)
                          .cartesian(nums.filter([](int64_t x) { return x < 4; }))
                          .collect()) {
    product.push_back(Str(a) + ":" + Str(b));
  }
  Print("cartesian", Sorted(product));

  // sort_by_key: keys with duplicates, printed in collected (global) order.
  auto to_sort = nums.map([k](int64_t x) { return Pair((x * 37 + k) % 211, x); });
  auto ascending = to_sort.sort_by_key(true, 4);
  auto descending = to_sort.sort_by_key(false, 3);
  Print("sort_asc_partitions", static_cast<int64_t>(ascending.num_partitions()));
  Print("sort_desc_partitions", static_cast<int64_t>(descending.num_partitions()));
  std::vector<Pair> asc = ascending.collect(), desc = descending.collect();
  std::vector<int64_t> asc_keys, desc_keys;
  for (const Pair& p : asc) asc_keys.push_back(p.first);
  for (const Pair& p : desc) desc_keys.push_back(p.first);
  Print("sort_asc_keys", asc_keys);
  Print("sort_asc_pairs", Sorted(asc));
  Print("sort_desc_keys", desc_keys);
  Print("sort_desc_pairs", Sorted(desc));

  // repartition (a shuffle) and coalesce (none: partitions merge in order).
  auto sizes = [](std::vector<int64_t> part) {
    return std::vector<int64_t>{static_cast<int64_t>(part.size())};
  };
  auto spread = nums.repartition(7);
  Print("repartition_partitions", static_cast<int64_t>(spread.num_partitions()));
  Print("repartition_sizes", spread.map_partitions(sizes).collect());
  Print("repartition_records", Sorted(spread.collect()));
  auto merged = nums.coalesce(2);
  Print("coalesce_partitions", static_cast<int64_t>(merged.num_partitions()));
  Print("coalesce_sizes", merged.map_partitions(sizes).collect());
  Print("coalesce_collect", merged.collect());
  Print("coalesce_count", merged.count());

  // Actions.
  Print("take", nums.map([k](int64_t x) { return x * k; }).take(7));
  Print("take_across", nums.take(n / 2));
  Print("take_all", nums.take(n + 10));
  Print("reduce", nums.reduce([](int64_t a, int64_t b) { return a + b; }));
  Print("reduce_capture",
        nums.map([d](int64_t x) { return static_cast<int64_t>(static_cast<double>(x) * d); })
            .reduce([k](int64_t a, int64_t b) { return std::max(a, b) + 0 * k; }));
  nums.foreach ([k, d](const int64_t& x) {
    volatile double sink = static_cast<double>(x) * d + k;
    (void)sink;
  });
  Print("foreach", std::string("ok"));

  // driver/dataset_ops.h: keyed by x % (K + 4), as key_by above.
  Print("keys", keyed.keys().take(12));
  Print("values", keyed.values().take(12));
  Print("flat_map_values", Sorted(keyed
                                      .flat_map_values([k](int64_t v) {
                                        return std::vector<int64_t>(static_cast<size_t>(v % k), v);
                                      })
                                      .collect()));
  std::vector<int64_t> glom_sizes;
  for (const auto& part : nums.glom().collect())
    glom_sizes.push_back(static_cast<int64_t>(part.size()));
  Print("glom_sizes", glom_sizes);
  Print("distinct", Sorted(nums.map([k](int64_t x) { return x % (k * 5); }).distinct(3).collect()));
  const auto by_key = keyed.count_by_key();
  Print("count_by_key", std::vector<Pair>(by_key.begin(), by_key.end()));
  const auto by_value = nums.map([k](int64_t x) { return x % k; }).count_by_value();
  Print("count_by_value", std::vector<Pair>(by_value.begin(), by_value.end()));
  Print("combine_by_key",
        Sorted(keyed
                   .combine_by_key(
                       [](int64_t v) {
                         return std::array<int64_t, 2>{v, 1};
                       },
                       [](std::array<int64_t, 2> c, int64_t v) {
                         return std::array<int64_t, 2>{c[0] + v, c[1] + 1};
                       },
                       [](std::array<int64_t, 2> a, std::array<int64_t, 2> b) {
                         return std::array<int64_t, 2>{a[0] + b[0], a[1] + b[1]};
                       })
                   .map_values([](std::array<int64_t, 2> c) { return c[0] * 1000 + c[1]; })
                   .collect()));
  Print("aggregate_by_key", Sorted(keyed
                                       .aggregate_by_key(
                                           int64_t{0}, [](int64_t acc, int64_t) { return acc + 1; },
                                           [](int64_t a, int64_t b) { return a + b; }, 2)
                                       .collect()));
  Print("fold_by_key",
        Sorted(keyed.fold_by_key(int64_t{0}, [](int64_t a, int64_t b) { return std::max(a, b); })
                   .collect()));
  Print("sort_by",
        nums.sort_by([k](int64_t x) { return (x * 37 + k) % 211 * 1000 + x; }, false, 3).collect());
  Print("take_ordered", nums.map([k](int64_t x) { return (x * 37 + k) % 211; }).take_ordered(9));
  Print("top", nums.map([k](int64_t x) { return (x * 37 + k) % 211; }).top(9));
  Print("first", nums.filter([k](const int64_t& x) { return x > 10 * k; }).first());
  Print("is_empty",
        std::string(nums.filter([](const int64_t& x) { return x < 0; }).is_empty() ? "yes" : "no"));
  Print("sum", nums.sum());
  Print("max", nums.max());
  Print("min", nums.map([k](int64_t x) { return x - k; }).min());
  const kiln::StatCounter stats =
      nums.map([](int64_t x) { return static_cast<double>(x); }).stats();
  Print("map_partitions_with_index",
        nums.map_partitions_with_index(
                [k](int partition, kiln::PartitionInput<int64_t>& in, kiln::Emit<Pair>& out) {
                  int64_t n = 0;
                  for (int64_t x : in) n += x >= 0;
                  out(Pair(partition, n * k));
                })
            .collect());
  Print("zip_with_index",
        nums.filter([k](const int64_t& x) { return x % (k + 4) == 0; }).zip_with_index().collect());
  Print("sample", nums.sample(false, 0.25, static_cast<uint64_t>(k)).collect());
  Print("sample_with_replacement", nums.sample(true, 1.5, static_cast<uint64_t>(k)).collect());
  std::vector<int64_t> split_records;
  for (auto& split : nums.random_split({1, 3}, 11)) {
    for (int64_t x : split.collect()) split_records.push_back(x);
  }
  Print("random_split", Sorted(split_records));
  // The variance in thousandths: Welford's sums differ from the test's in the last bits.
  Print("stats", std::vector<double>{static_cast<double>(stats.count()), stats.mean(),
                                     static_cast<double>(std::llround(stats.variance() * 1000)),
                                     stats.max(), stats.min()});
  Accumulators(ctx, nums, n, d);
  Files(ctx, nums, k);
  return 0;
}
