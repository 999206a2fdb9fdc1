// cache() end to end (tests/apps/cache_app): a cached dataset whose input file is
// deleted after the first job must still be computed right by later jobs on the
// cluster's executors (so every task ran where its block is: with
// kiln.task.maxFailures=1, one task placed elsewhere would fail the job on the missing
// file), and unpersisting it must make the next job read the missing file again.
#include <filesystem>
#include <string>
#include <vector>

#include "common/strings.h"
#include "tests/jobs/job_util.h"
#include "tests/kiln_catch.h"
#include "tests/support/mini_cluster.h"
#include "tests/support/test_util.h"

namespace kiln::test::jobs {
namespace {

void CheckCachedJobs(const std::string& master) {
  TempDir dir("kiln-cache-in-");
  const std::string input = dir.Sub("input");
  std::filesystem::create_directories(input);
  WordCounts expected;
  int64_t lines = 0;
  for (int f = 0; f < 3; ++f) {
    std::string text = GenerateText(static_cast<uint32_t>(100 + f), 2000);
    CountWords(text, &expected);
    lines += static_cast<int64_t>(SplitLines(text).size());
    WriteTestFile(input + "/part-" + std::to_string(f) + ".txt", text);
  }
  int64_t words = 0, lengths = 0;
  for (const auto& [word, n] : expected) {
    words += n;
    lengths += static_cast<int64_t>(word.size());
  }
  // Small splits: several partitions per file, spread over both executors.
  CommandResult r = Submit(master,
                           {"--conf", "kiln.files.maxPartitionBytes=16k", "--conf",
                            "kiln.task.maxFailures=1", "--conf", "kiln.locality.wait=60s"},
                           AppPath("cache_app"), {input});
  INFO("cache_app on " << master << ": " << r.ToString());
  std::vector<std::string> out = SplitLines(r.out);
  REQUIRE(out.size() == 4);
  CHECK(out[0] == StrCat("first=", lines));
  const std::string cached = out[1].substr(out[1].find('=') + 1);
  CHECK(cached.substr(0, cached.find('/')) == cached.substr(cached.find('/') + 1));
  CHECK(out[2] == StrCat("words=", words, " ", expected.size(), " ", lengths));
  CHECK(out[3] == StrCat("second=", lines));
  // Unpersisted, the next count reads the deleted input and fails.
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("cannot open input file " + input) != std::string::npos);
  CHECK_FALSE(PathExists(input));
}

TEST_CASE("jobs: cached partitions are reused where they are on a 2-worker cluster",
          "[jobs][cache]") {
  MiniCluster cluster;
  REQUIRE_OK(cluster.Start());
  CheckCachedJobs(cluster.master_url());
  REQUIRE_OK(CheckClusterIdle(cluster));
}

TEST_CASE("jobs: cached partitions are reused in local[2]", "[jobs][cache]") {
  CheckCachedJobs("local[2]");
}

}  // namespace
}  // namespace kiln::test::jobs
