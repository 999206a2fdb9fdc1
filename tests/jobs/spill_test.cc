// Jobs over several times more data than their executor's memory, on a one-worker
// cluster with one executor of 512m (limit 896 MiB with the default overhead), and in
// local mode with --driver-memory 512m: a sort, a word count with 20 million distinct
// words, a group_by_key and a join. Each result is exact
// (checked against references computed here), the stages spilled, the executor's
// resident memory sampled by the test stayed under its limit, and no spill file is left.
#include <atomic>
#include <filesystem>
#include <fstream>

#include "common/background.h"
#include "common/process_memory.h"
#include "tests/apps/spill_records.h"
#include "tests/jobs/job_util.h"
#include "tests/kiln_catch.h"
#include "tests/support/mini_cluster.h"
#include "tests/support/test_util.h"

namespace kiln::test::jobs {
namespace {

constexpr int64_t kLimit = int64_t{896} << 20;  // 512m + the default 384m overhead

// Samples the resident memory of the cluster's executors every 10 ms until destroyed.
class RssSampler {
 public:
  explicit RssSampler(const MiniCluster& cluster)
      : loop_(std::chrono::milliseconds(10), [this, &cluster] {
          for (pid_t pid : cluster.ExecutorPids()) {
            absl::StatusOr<int64_t> rss = ResidentBytes(pid);
            if (rss.ok() && *rss > peak_) peak_ = *rss;
          }
        }) {
    loop_.Start();
  }
  ~RssSampler() { loop_.Stop(); }
  int64_t peak() const { return peak_; }

 private:
  std::atomic<int64_t> peak_{0};
  PeriodicThread loop_;  // last: stopped first
};

// Files a spill leaves while it lives: task spill runs and shuffle writer runs.
int SpillFilesUnder(const std::string& dir) {
  int n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    const bool spill = name.starts_with("spill-") || name.find(".spill") != std::string::npos;
    if (spill && e.is_regular_file()) ++n;
  }
  return n;
}

// Runs spill_app on a one-worker cluster with a 512m executor, sampling its memory, or in
// local[2] with --driver-memory 512m (where the driver kills itself past its limit);
// returns its stdout.
std::string RunSpillApp(bool on_cluster, const std::vector<std::string>& args) {
  if (!on_cluster) {
    TempDir scratch("kiln-spill-local-");
    CommandResult r = Submit(
        "local[2]", {"--driver-memory", "512m", "--conf", "kiln.local.dir=" + scratch.path()},
        AppPath("spill_app"), args, std::chrono::seconds(240));
    INFO(r.ToString());
    CHECK(r.exit_code == 0);
    CHECK(SpillFilesUnder(scratch.path()) == 0);
    return r.out;
  }
  MiniCluster cluster({.num_workers = 1, .worker_conf = {"kiln.worker.cleanup.enabled=false"}});
  REQUIRE_OK(cluster.Start());
  CommandResult r;
  int64_t peak = 0;
  {
    RssSampler sampler(cluster);
    r = Submit(cluster.master_url(), {"--executor-memory", "512m"}, AppPath("spill_app"), args,
               std::chrono::seconds(240));
    peak = sampler.peak();
  }
  INFO(r.ToString());
  INFO("peak executor RSS " << (peak >> 20) << " MiB");
  CHECK(r.exit_code == 0);
  CHECK(peak > 0);
  CHECK(peak <= kLimit);
  CHECK(SpillFilesUnder(cluster.worker_work_dir(0)) == 0);
  REQUIRE_OK(CheckClusterIdle(cluster));
  return r.out;
}

TEST_CASE("memory: a sort of 12M records (2.7 GiB in memory) in 512m is exact", "[memory][spill]") {
  constexpr int64_t kRecords = 12'000'000;
  const bool on_cluster = GENERATE(true, false);
  INFO((on_cluster ? "on a cluster" : "in local mode"));
  TempDir out_dir("kiln-spill-sort-");
  const std::string out = out_dir.Sub("sorted");
  CHECK(RunSpillApp(on_cluster, {"sort", std::to_string(kRecords), out}) == "sorted\n");
  // Every line in key order, each record once with its value.
  uint64_t expected = 0;
  for (int64_t i = 0; i < kRecords; ++i) {
    expected += KeyHash<std::string>()(SortKey(i)) ^ KeyHash<std::string>()(SortValue(i));
  }
  uint64_t got = 0;
  int64_t lines = 0;
  bool ordered = true;
  std::string previous;
  for (const std::string& part : PartFiles(out)) {
    std::ifstream in(out + "/" + part);
    std::string line;
    while (std::getline(in, line)) {
      REQUIRE(line.size() == 27);
      const std::string key = line.substr(0, 10);
      if (key < previous) ordered = false;
      got += KeyHash<std::string>()(key) ^ std::stoull(line.substr(11), nullptr, 16);
      previous = key;
      ++lines;
    }
  }
  CHECK(lines == kRecords);
  CHECK(ordered);
  CHECK(got == expected);
}

TEST_CASE("memory: a word count of 20M distinct words in 512m is exact", "[memory][spill]") {
  const bool on_cluster = GENERATE(true, false);
  INFO((on_cluster ? "on a cluster" : "in local mode"));
  // Words w0..w19999999, twice each: sum of 2 * (w + 1) = 20M * (20M + 1).
  CHECK(RunSpillApp(on_cluster, {"wordcount", "40000000", "20000000"}) ==
        "keys=20000000 total=40000000 weighted=400000020000000\n");
}

TEST_CASE("memory: a group_by_key of 40M values in 512m is exact and ordered", "[memory][spill]") {
  const bool on_cluster = GENERATE(true, false);
  INFO((on_cluster ? "on a cluster" : "in local mode"));
  // 2M groups of 20 values; the values 0..40M-1 sum to 40M * (40M - 1) / 2.
  CHECK(RunSpillApp(on_cluster, {"group", "40000000", "2000000"}) ==
        "groups=2000000 values=40000000 sum=799999980000000 ordered=yes\n");
}

TEST_CASE("memory: a join of 20M records with 5M in 512m is exact", "[memory][spill]") {
  const bool on_cluster = GENERATE(true, false);
  INFO((on_cluster ? "on a cluster" : "in local mode"));
  // Each left (i % 5M, i) meets one right (k, -k): 20M matches; the left values sum to
  // 20M * (20M - 1) / 2, the right ones to -4 * 5M * (5M - 1) / 2.
  CHECK(RunSpillApp(on_cluster, {"join", "20000000", "5000000"}) ==
        "matches=20000000 left=199999990000000 right=-49999990000000\n");
}

}  // namespace
}  // namespace kiln::test::jobs
