// Speculative execution on a real cluster: one task 20 times slower than its peers
// (tests/apps/straggler_app) gets a copy on the other executor, the copy's output is
// committed, the straggler is killed, and the job ends long before the straggler would
// have. The scheduling rules are unit-tested in tests/driver/speculation_test.cc.

#include <filesystem>
#include <string>

#include "common/files.h"
#include "common/strings.h"
#include "tests/jobs/background_submit.h"
#include "tests/jobs/job_util.h"
#include "tests/kiln_catch.h"
#include "tests/support/mini_cluster.h"
#include "tests/support/test_util.h"

namespace kiln::test::jobs {
namespace {

namespace fs = std::filesystem;

TEST_CASE("speculation: a straggler's copy wins elsewhere, one exact part per partition",
          "[jobs][speculation]") {
  TempDir dir("kiln-speculation-");
  MiniCluster cluster;  // 2 workers of 2 cores: one executor on each
  REQUIRE_OK(cluster.Start());
  const std::string markers = dir.Sub("markers");
  fs::create_directories(markers);
  BackgroundSubmit submit(cluster.master_url(), dir, {dir.Sub("out"), markers},
                          {"KILN_CONF_kiln_speculation=true", "KILN_LOG_LEVEL=info"},
                          AppPath("straggler_app"));
  const auto& exit = submit.Wait(seconds(120));
  REQUIRE(exit.has_value());
  const std::string err = ReadFile(dir.Sub("submit.err")).value_or("");
  INFO("kiln-submit stderr: " << err);
  CHECK(exit->code() == 0);
  CHECK(err.find("task 3 of stage 0 has run") != std::string::npos);
  CHECK(err.find("speculative attempt of task 3 of stage 0 on executor") != std::string::npos);
  CHECK(err.find("killing attempt") != std::string::npos);
  // The slow attempt started, and never reached its last record: the job did not wait
  // for it (it would have taken 10 s).
  CHECK(fs::exists(markers + "/slow"));
  CHECK_FALSE(fs::exists(markers + "/slow-done"));

  std::string reference;
  for (int64_t x = 0; x < 8 * 2000; ++x) StrAppend(&reference, 2 * x, "\n");
  CHECK(PartFiles(dir.Sub("out")).size() == 8);
  CHECK(ReadParts(dir.Sub("out")) == reference);
  CHECK(ListDir(dir.Sub("out")) ==
        std::vector<std::string>{"_SUCCESS", "part-00000", "part-00001", "part-00002", "part-00003",
                                 "part-00004", "part-00005", "part-00006", "part-00007"});
  REQUIRE_OK(CheckClusterIdle(cluster));
}

}  // namespace
}  // namespace kiln::test::jobs
