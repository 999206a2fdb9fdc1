// A task that throws fails the job: the driver reports the task's message with the
// executor and host it ran on, after kiln.task.maxFailures attempts, and exits non-zero.
#include <string>

#include "common/wait.h"
#include "tests/jobs/job_util.h"
#include "tests/kiln_catch.h"
#include "tests/support/mini_cluster.h"
#include "tests/support/test_util.h"

namespace kiln::test::jobs {
namespace {

// `host`: where the task ran, as the message must name it.
CommandResult CheckTaskFailure(const std::string& master, const std::string& host) {
  CommandResult r =
      Submit(master, {"--conf", "kiln.task.maxFailures=2"}, AppPath("failing_app"), {"throw"});
  INFO("failing_app throw on " << master << ": " << r.ToString());
  CHECK_FALSE(r.timed_out);
  CHECK(r.exit_code != 0);
  // The driver's final message ("kiln: ..."), not the per-attempt log lines, must say
  // it all.
  std::string message;
  for (const std::string& line : SplitLines(r.err)) {
    if (line.starts_with("kiln: ")) message = line;
  }
  INFO("the driver's message: " << message);
  CHECK(message.find("boom at record 42") != std::string::npos);
  CHECK(message.find("executor") != std::string::npos);
  CHECK(message.find("host " + host) != std::string::npos);
  CHECK(message.find("failed 2 times") != std::string::npos);
  CHECK(r.out.find("count=") == std::string::npos);  // the action never returned
  return r;
}

TEST_CASE("jobs: a throwing task fails the job on the cluster", "[jobs][failure]") {
  MiniCluster cluster;
  REQUIRE_OK(cluster.Start());
  CommandResult r = CheckTaskFailure(cluster.master_url(), "127.0.0.1");
  const std::string app = AppIdFromStderr(r.err);
  INFO(r.ToString());
  CHECK_FALSE(app.empty());
  Json entry = WaitForCompletedApp(cluster, app);
  CHECK_FALSE(entry.is_null());
  INFO("/json: " << cluster.MasterState().dump());
  CHECK((entry.is_object() && entry.value("state", "") == "FAILED"));
  REQUIRE_OK(CheckClusterIdle(cluster));
}

TEST_CASE("jobs: a throwing task fails the job in local[2]", "[jobs][failure]") {
  CheckTaskFailure("local[2]", "localhost");
  // The same job without the throw succeeds: the failure came from the record.
  CommandResult ok = Submit("local[2]", {}, AppPath("failing_app"), {"ok"});
  INFO(ok.ToString());
  CHECK(ok.exit_code == 0);
  CHECK(ok.out == "count=100\n");
}

}  // namespace
}  // namespace kiln::test::jobs
