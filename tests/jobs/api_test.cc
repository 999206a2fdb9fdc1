// The Dataset API end to end: tests/apps/api_app prints the results of every operation
// over 0..N-1; each must equal what this test computes with plain loops.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/files.h"
#include "common/strings.h"
#include "driver/sampling.h"
#include "tests/apps/api_format.h"
#include "tests/jobs/job_util.h"
#include "tests/kiln_catch.h"
#include "tests/support/mini_cluster.h"
#include "tests/support/test_util.h"

namespace kiln::test::jobs {
namespace {

constexpr int64_t kN = 600;
constexpr int kK = 3;        // the int the app's functions capture
constexpr double kD = 2.75;  // the double they capture
constexpr int kSlices = 5;   // the app's parallelize

using ::kiln::test::api_format::Str;
template <class T>
std::vector<T> Sorted(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// Every "name=value" the app must print, except those checked by property (the sizes
// of repartition's partitions), computed with plain loops.
std::map<std::string, std::string> Expected(int default_parallelism) {
  std::vector<int64_t> nums;
  for (int64_t x = 0; x < kN; ++x) nums.push_back(x);
  std::map<std::string, std::string> e;
  e["default_parallelism"] = Str(int64_t{default_parallelism});
  e["partitions"] = Str(int64_t{kSlices});
  e["collect"] = Str(nums);
  e["count"] = Str(kN);

  std::vector<int64_t> mapped, filtered, emitted, part_stats, multiples;
  std::vector<double> doubles;
  for (int64_t x : nums) {
    mapped.push_back(x * kK + static_cast<int64_t>(static_cast<double>(x) * kD));
    if (x % kK == 0) filtered.push_back(x);
    for (int64_t i = 0; i < x % kK; ++i) emitted.push_back(x * 10 + i);
    if (x % 4 == 0) {
      doubles.push_back(static_cast<double>(x) * kD);
      doubles.push_back(-static_cast<double>(x) * kD);
    }
    multiples.push_back(x * kK);
  }
  e["map"] = Str(mapped);
  e["filter"] = Str(filtered);
  e["flat_map_emit"] = Str(emitted);
  e["flat_map_vector"] = Str(doubles);
  for (int p = 0; p < kSlices; ++p) {  // parallelize: contiguous slices of N*p/S
    int64_t begin = kN * p / kSlices, end = kN * (p + 1) / kSlices, sum = 0;
    for (int64_t x = begin; x < end; ++x) sum += x;
    part_stats.push_back(end - begin);
    part_stats.push_back(sum * kK);
  }
  e["map_partitions"] = Str(part_stats);

  std::vector<std::pair<int64_t, int64_t>> keyed;
  std::map<int64_t, int64_t> sums;
  for (int64_t x : nums) {
    if (keyed.size() < 12) keyed.emplace_back(x % (kK + 4), x);
    sums[x % (kK + 4)] += x;
  }
  e["key_by"] = Str(keyed);
  e["reduce_by_key"] = Str(std::vector<std::pair<int64_t, int64_t>>(sums.begin(), sums.end()));

  std::map<std::string, std::vector<int64_t>> groups;
  for (int64_t x : nums) groups["g" + std::to_string(x % 5)].push_back(x);
  std::vector<std::pair<std::string, std::string>> grouped;
  for (const auto& [key, values] : groups) grouped.emplace_back(key, Str(values));
  e["group_by_key"] = Str(grouped);

  std::vector<std::string> joined;
  for (int64_t x = 0; x < 50; ++x) {
    int64_t key = x % 10;
    if (key % 2 == 0) joined.push_back(Str(key) + ":" + Str(x) + "/n" + Str(key));
    if (key == 4) joined.push_back(Str(key) + ":" + Str(x) + "/four");
  }
  e["join"] = Str(Sorted(joined));
  e["join_in_place"] = e["join"];
  std::vector<std::string> right_joined = joined;  // every match, and the unmatched names
  for (int64_t key = 10; key < 15; key += 2) right_joined.push_back(Str(key) + ":-/n" + Str(key));
  e["right_outer_join"] = Str(Sorted(right_joined));
  // cogroup and full_outer_join of the same sides: left keys 0..9 (x < 50), right keys
  // 0, 2, ..., 14 (and 4 twice).
  std::vector<std::string> cogrouped, full_joined = right_joined;
  for (int64_t key = 0; key < 15; ++key) {
    std::vector<int64_t> vs;
    for (int64_t x = key; key < 10 && x < 50; x += 10) vs.push_back(x);
    std::vector<std::string> ws;
    if (key % 2 == 0) ws.push_back("n" + Str(key));
    if (key == 4) ws.push_back("four");
    std::sort(ws.begin(), ws.end());
    if (!vs.empty() || !ws.empty()) cogrouped.push_back(Str(key) + ":" + Str(vs) + "/" + Str(ws));
    if (ws.empty()) {
      for (int64_t v : vs) full_joined.push_back(Str(key) + ":" + Str(v) + "/-");
    }
  }
  e["cogroup"] = Str(Sorted(cogrouped));
  e["full_outer_join"] = Str(Sorted(full_joined));
  std::vector<int64_t> common, rest;
  for (int64_t r = 10; r < 20; ++r) common.push_back(r);
  for (int64_t x : nums) {
    if (x % 20 < 10) rest.push_back(x % 20);
  }
  std::vector<std::string> placed;
  for (int64_t p = 0; p <= kK; ++p) {
    std::vector<int64_t> keys;
    for (int64_t key = p; key < kK + 4; key += kK + 1) keys.push_back(key);
    placed.push_back(Str(p) + ":" + Str(keys));
  }
  e["partition_by"] = Str(placed);
  std::vector<std::pair<int64_t, int64_t>> all_keyed;
  for (int64_t x : nums) all_keyed.emplace_back(x % (kK + 4), x);
  e["partition_by_hash"] = Str(Sorted(all_keyed));
  std::vector<std::string> piped;
  for (int64_t x : nums) {
    std::string line = Str(x);
    for (char& c : line) c = static_cast<char>('a' + (c - '0'));
    piped.push_back(line);
  }
  e["pipe"] = Str(piped);
  e["intersection"] = Str(common);
  e["subtract"] = Str(Sorted(rest));
  std::vector<int64_t> both;
  for (int64_t x : nums) {
    if (x % kK == 0) both.push_back(x);
  }
  for (int64_t x : nums) both.push_back(x * kK);
  e["union"] = Str(both);
  std::vector<std::string> product;
  for (int64_t a = 0; a <= kK; ++a) {
    for (int64_t b = 0; b < 4; ++b) product.push_back(Str(a) + ":" + Str(b));
  }
  e["cartesian"] = Str(Sorted(product));

  std::vector<std::pair<int64_t, int64_t>> pairs;
  std::vector<int64_t> keys;
  for (int64_t x : nums) {
    pairs.emplace_back((x * 37 + kK) % 211, x);
    keys.push_back((x * 37 + kK) % 211);
  }
  std::sort(keys.begin(), keys.end());
  e["sort_asc_partitions"] = "4";
  e["sort_desc_partitions"] = "3";
  e["sort_asc_keys"] = Str(keys);
  e["sort_asc_pairs"] = Str(Sorted(pairs));
  std::reverse(keys.begin(), keys.end());
  e["sort_desc_keys"] = Str(keys);
  e["sort_desc_pairs"] = Str(Sorted(pairs));

  e["repartition_partitions"] = "7";
  e["repartition_records"] = Str(nums);
  // coalesce(2) of 5 partitions: parents {0, 1} and {2, 3, 4}, in order.
  e["coalesce_partitions"] = "2";
  e["coalesce_sizes"] = Str(std::vector<int64_t>{kN * 2 / kSlices, kN - kN * 2 / kSlices});
  e["coalesce_collect"] = Str(nums);
  e["coalesce_count"] = Str(kN);

  e["take"] = Str(std::vector<int64_t>(multiples.begin(), multiples.begin() + 7));
  e["take_across"] = Str(std::vector<int64_t>(nums.begin(), nums.begin() + kN / 2));
  e["take_all"] = Str(nums);
  e["reduce"] = Str(kN * (kN - 1) / 2);
  e["reduce_capture"] = Str(static_cast<int64_t>(static_cast<double>(kN - 1) * kD));
  e["foreach"] = "ok";

  // driver/dataset_ops.h, over `keyed` (x % (K + 4), x).
  std::vector<int64_t> key_list, value_list, glom_sizes, residues;
  std::vector<std::pair<int64_t, int64_t>> flat, counts, combined, maxima, by_value;
  std::map<int64_t, int64_t> key_counts, key_max, value_counts;
  for (int64_t x : nums) {
    const int64_t key = x % (kK + 4);
    if (key_list.size() < 12) key_list.push_back(key);
    if (value_list.size() < 12) value_list.push_back(x);
    for (int64_t i = 0; i < x % kK; ++i) flat.emplace_back(key, x);
    ++key_counts[key];
    key_max[key] = std::max(key_max[key], x);
    ++value_counts[x % kK];
  }
  for (const auto& [key, n] : key_counts) {
    counts.emplace_back(key, n);
    combined.emplace_back(key, sums[key] * 1000 + n);
  }
  for (int p = 0; p < kSlices; ++p) glom_sizes.push_back(kN * (p + 1) / kSlices - kN * p / kSlices);
  for (int64_t r = 0; r < kK * 5; ++r) residues.push_back(r);
  e["keys"] = Str(key_list);
  e["values"] = Str(value_list);
  e["flat_map_values"] = Str(Sorted(flat));
  e["glom_sizes"] = Str(glom_sizes);
  e["distinct"] = Str(residues);
  e["count_by_key"] = Str(counts);
  e["count_by_value"] =
      Str(std::vector<std::pair<int64_t, int64_t>>(value_counts.begin(), value_counts.end()));
  e["combine_by_key"] = Str(combined);
  e["aggregate_by_key"] = Str(counts);
  e["fold_by_key"] = Str(std::vector<std::pair<int64_t, int64_t>>(key_max.begin(), key_max.end()));
  std::vector<int64_t> by_sort_key = nums, mods;
  std::sort(by_sort_key.begin(), by_sort_key.end(), [](int64_t a, int64_t b) {
    return (a * 37 + kK) % 211 * 1000 + a > (b * 37 + kK) % 211 * 1000 + b;
  });
  e["sort_by"] = Str(by_sort_key);
  for (int64_t x : nums) mods.push_back((x * 37 + kK) % 211);
  std::sort(mods.begin(), mods.end());
  e["take_ordered"] = Str(std::vector<int64_t>(mods.begin(), mods.begin() + 9));
  e["top"] = Str(std::vector<int64_t>(mods.rbegin(), mods.rbegin() + 9));
  e["first"] = Str(int64_t{10 * kK + 1});
  e["is_empty"] = "yes";
  e["sum"] = Str(kN * (kN - 1) / 2);
  e["max"] = Str(kN - 1);
  e["min"] = Str(int64_t{-kK});
  const double mean = static_cast<double>(kN - 1) / 2;
  double m2 = 0;
  for (int64_t x : nums) m2 += (static_cast<double>(x) - mean) * (static_cast<double>(x) - mean);
  std::vector<std::pair<int64_t, int64_t>> per_partition, zipped;
  std::vector<int64_t> sampled, resampled;
  for (int p = 0; p < kSlices; ++p) {
    const int64_t begin = kN * p / kSlices, end = kN * (p + 1) / kSlices;
    per_partition.emplace_back(p, (end - begin) * kK);
    // The generators the executors use, per partition (driver/sampling.h).
    ::kiln::internal::PartitionRandom without(kK, p), with(kK, p);
    for (int64_t x = begin; x < end; ++x) {
      if (without.Uniform() < 0.25) sampled.push_back(x);
      for (int n = with.Poisson(1.5); n > 0; --n) resampled.push_back(x);
    }
  }
  for (int64_t x : nums) {
    if (x % (kK + 4) == 0) zipped.emplace_back(x, static_cast<int64_t>(zipped.size()));
  }
  e["map_partitions_with_index"] = Str(per_partition);
  e["zip_with_index"] = Str(zipped);
  e["sample"] = Str(sampled);
  e["sample_with_replacement"] = Str(resampled);
  e["random_split"] = Str(nums);
  e["accumulator_long"] = Str(kN / 2);
  e["accumulator_double"] = Str(kD * static_cast<double>(kN * (kN - 1) / 2));
  e["accumulator_collection"] = Str(std::vector<int64_t>{kN - 3, kN - 2, kN - 1});
  e["text_gzip"] = Str(multiples);
  e["whole_text_files"] = "part-00000.gz,part-00001.gz,part-00002.gz,part-00003.gz,part-00004.gz";
  e["whole_text_files_lines"] = Str(kN);
  std::vector<std::pair<int64_t, int64_t>> objects;
  for (int64_t x : nums) objects.emplace_back(x % (kK + 2), x);
  e["object_file"] = Str(objects);
  e["stats"] = Str(
      std::vector<double>{static_cast<double>(kN), mean,
                          static_cast<double>(std::llround(m2 / static_cast<double>(kN) * 1000)),
                          static_cast<double>(kN - 1), 0.0});
  return e;
}

void CheckApi(const std::string& master, int default_parallelism) {
  CommandResult r = Submit(master, {}, AppPath("api_app"), {Str(kN), std::to_string(kK), "2.75"});
  INFO("api_app on " << master << ": exit code " << r.exit_code << "\n--- stderr ---\n" << r.err);
  REQUIRE(r.exit_code == 0);
  // The task that failed once, and the named accumulators in the job's summary.
  CHECK(r.err.find("api_app: fails once, after adding") != std::string::npos);
  CHECK(r.err.find("accumulators: evens = " + Str(kN / 2) + ", scaled = ") != std::string::npos);
  std::map<std::string, std::string> got;
  for (const std::string& line : SplitLines(r.out)) {
    size_t eq = line.find('=');
    REQUIRE(eq != std::string::npos);
    got[line.substr(0, eq)] = line.substr(eq + 1);
  }
  for (const auto& [name, value] : Expected(default_parallelism)) {
    INFO(name);
    REQUIRE(got.count(name) == 1);
    CHECK(got[name] == value);
  }
  // repartition(7): exactly 7 partitions of about equal size (round robin from each of
  // the 5 map partitions: at most 5 apart), no record lost or doubled.
  std::vector<int64_t> sizes;
  for (std::string_view s : Split(got["repartition_sizes"], ',')) {
    int64_t v = -1;
    CHECK(ParseNumber(s, &v));
    sizes.push_back(v);
  }
  INFO("repartition_sizes=" << got["repartition_sizes"]);
  REQUIRE(sizes.size() == 7);
  int64_t total = 0;
  for (int64_t s : sizes) total += s;
  CHECK(total == kN);
  CHECK(*std::max_element(sizes.begin(), sizes.end()) -
            *std::min_element(sizes.begin(), sizes.end()) <=
        kSlices);
}

TEST_CASE("jobs: the Dataset API on a 2-worker cluster", "[jobs][api]") {
  // The workers keep the application's dirs, for the executors' logs checked below.
  MiniCluster cluster(MiniClusterOptions{.worker_conf = {"kiln.worker.cleanup.enabled=false"}});
  REQUIRE_OK(cluster.Start());
  CheckApi(cluster.master_url(), /*default_parallelism=*/4);
  REQUIRE_OK(CheckClusterIdle(cluster));
  // pipe's commands wrote to stderr: it is in an executor's log on a worker.
  bool logged = false;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(cluster.temp_dir())) {
    if (entry.is_regular_file() && entry.path().filename() == "stderr" &&
        ReadFile(entry.path().string()).value_or("").find("kiln-pipe-stderr-marker") !=
            std::string::npos) {
      logged = true;
    }
  }
  CHECK(logged);
}

TEST_CASE("jobs: the Dataset API in local[2,2]", "[jobs][api]") {
  CheckApi("local[2,2]", /*default_parallelism=*/2);  // a task may fail once
}

}  // namespace
}  // namespace kiln::test::jobs
