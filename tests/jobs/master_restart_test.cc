// The master restarts (kill -9, no recovery directory) while a job runs: the executors
// and the shuffle do not need it, the workers register again with the executors they
// run, the driver registers its application again under the same id, the job ends
// with the same output as without the fault, and new jobs run on the new master.

#include <string>

#include "common/files.h"
#include "common/wait.h"
#include "tests/jobs/background_submit.h"
#include "tests/jobs/job_util.h"
#include "tests/kiln_catch.h"
#include "tests/support/mini_cluster.h"
#include "tests/support/test_util.h"

namespace kiln::test::jobs {
namespace {

TEST_CASE("fault: a job runs on through a master restart, and new jobs run after it",
          "[fault][master]") {
  TempDir dir("kiln-master-restart-");
  // The reference, from local mode (its stall is released at once).
  WriteTestFile(dir.Sub("reference.go"), "");
  CommandResult reference =
      Submit("local[2]", {}, AppPath("slow_app"), {dir.Sub("reference"), "stall"});
  INFO(reference.ToString());
  REQUIRE(reference.exit_code == 0);

  MiniClusterOptions options;
  options.worker_conf = {"kiln.worker.heartbeatInterval=200ms"};
  MiniCluster cluster(options);
  REQUIRE_OK(cluster.Start());
  BackgroundSubmit submit(cluster.master_url(), dir, {dir.Sub("out"), "stall"},
                          {"KILN_CONF_kiln_driver_heartbeatInterval=300ms"});
  std::string app;
  REQUIRE(WaitFor(
      [&] {
        return !(app = AppIdFromStderr(ReadFile(dir.Sub("submit.err")).value_or(""))).empty();
      },
      seconds(30)));
  REQUIRE(WaitFor([&] { return RegisteredExecutors(cluster, app) == 2; }, seconds(30)));

  cluster.KillMaster();
  REQUIRE_OK(cluster.RestartMaster());
  REQUIRE_OK(cluster.WaitForWorkersAlive(seconds(30)));
  // The new master learns the executors from the workers and the application from its
  // driver, under the same id.
  Json entry;
  REQUIRE(WaitFor(
      [&] {
        entry = FindApp(cluster.MasterState(), "activeapps", app);
        return entry.is_object() && entry.value("name", "") == "slow_app" &&
               entry["executors"].size() == 2;
      },
      seconds(30)));
  CHECK(entry.value("cores", 0) == 4);

  WriteTestFile(dir.Sub("out.go"), "");
  const std::string err = ExpectSameOutput(submit, dir, cluster);
  CHECK(err.find("registered it again") != std::string::npos);
  REQUIRE_OK(CheckAppEnded(cluster, err, "FINISHED"));

  CommandResult after = Submit(cluster.master_url(), {}, AppPath("slow_app"), {dir.Sub("after")});
  INFO(after.ToString());
  CHECK(after.exit_code == 0);
  CHECK(SortedLines(ReadParts(dir.Sub("after"))) == SortedLines(ReadParts(dir.Sub("reference"))));
  REQUIRE_OK(CheckClusterIdle(cluster));
}

}  // namespace
}  // namespace kiln::test::jobs
