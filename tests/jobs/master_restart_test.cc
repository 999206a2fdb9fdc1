// The master restarts (kill -9) while a job runs: the executors and the shuffle do not
// need it, the workers register again with the executors they run, the application
// keeps its id (its driver registers it again, or, with kiln.deploy.recoveryMode=
// FILESYSTEM, the new master knows it from its directory), the job ends with the same
// output as without the fault, and new jobs run on the new master.

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

// slow_app `stall` on a 2-worker cluster; once both executors are up, kill -9 the
// master and start it again (with kiln.deploy.recoveryMode=FILESYSTEM when `recovery`).
// The job must end with the reference's bytes, the application keep its id, and a new
// job run after.
void RunThroughMasterRestart(bool recovery) {
  TempDir dir("kiln-master-restart-");
  // The reference, from local mode (its stall is released at once).
  WriteTestFile(dir.Sub("reference.go"), "");
  CommandResult reference =
      Submit("local[2]", {}, AppPath("slow_app"), {dir.Sub("reference"), "stall"});
  INFO(reference.ToString());
  REQUIRE(reference.exit_code == 0);

  MiniClusterOptions options;
  options.worker_conf = {"kiln.worker.heartbeatInterval=200ms"};
  if (recovery) {
    options.master_conf = {"kiln.deploy.recoveryMode=FILESYSTEM",
                           "kiln.deploy.recoveryDirectory=" + dir.Sub("recovery")};
  }
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
  if (recovery) {
    // It knows its workers and the application from the directory before anyone calls.
    Json first = cluster.MasterState();
    INFO("/json right after the restart: " << first.dump());
    CHECK(first["workers"].size() == 2);
    CHECK(FindApp(first, "activeapps", app).value("name", "") == "slow_app");
  }
  REQUIRE_OK(cluster.WaitForWorkersAlive(seconds(30)));
  // The new master has the executors from the workers and the application under its id.
  Json entry;
  REQUIRE(WaitFor(
      [&] {
        Json state = cluster.MasterState();
        entry = FindApp(state, "activeapps", app);
        return state.value("status", "") == "ALIVE" && entry.is_object() &&
               entry.value("name", "") == "slow_app" && entry["executors"].size() == 2;
      },
      seconds(30)));
  CHECK(entry.value("cores", 0) == 4);

  WriteTestFile(dir.Sub("out.go"), "");
  const std::string err = ExpectSameOutput(submit, dir, cluster);
  // Without the directory the driver registers its application again.
  CHECK((err.find("registered it again") != std::string::npos) == !recovery);
  REQUIRE_OK(CheckAppEnded(cluster, err, "FINISHED"));

  CommandResult after = Submit(cluster.master_url(), {}, AppPath("slow_app"), {dir.Sub("after")});
  INFO(after.ToString());
  CHECK(after.exit_code == 0);
  CHECK(SortedLines(ReadParts(dir.Sub("after"))) == SortedLines(ReadParts(dir.Sub("reference"))));
  REQUIRE_OK(CheckClusterIdle(cluster));
}

TEST_CASE("fault: a job runs on through a master restart, and new jobs run after it",
          "[fault][master]") {
  RunThroughMasterRestart(/*recovery=*/false);
}

TEST_CASE("fault: with FILESYSTEM recovery a restarted master knows the job's application",
          "[fault][master]") {
  RunThroughMasterRestart(/*recovery=*/true);
}

}  // namespace
}  // namespace kiln::test::jobs
