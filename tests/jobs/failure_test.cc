// A task that throws fails the job: the driver reports the task's message with the
// executor and host it ran on, after kiln.task.maxFailures attempts, and exits non-zero.
#include <signal.h>

#include <string>

#include "common/files.h"
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
  const std::string message = DriverMessage(r.err);
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
  CheckTaskFailure("local[2,2]", "localhost");
  // local[N] tries a task once, whatever kiln.task.maxFailures says (Spark's rule).
  CommandResult once =
      Submit("local[2]", {"--conf", "kiln.task.maxFailures=3"}, AppPath("failing_app"), {"throw"});
  INFO(once.ToString());
  CHECK(once.exit_code == 1);
  CHECK(once.err.find("failed 1 time,") != std::string::npos);
  // The same job without the throw succeeds: the failure came from the record.
  CommandResult ok = Submit("local[2]", {}, AppPath("failing_app"), {"ok"});
  INFO(ok.ToString());
  CHECK(ok.exit_code == 0);
  CHECK(ok.out == "count=100\n");
}

TEST_CASE("jobs: an executor past its memory limit is killed, and the job fails naming it",
          "[jobs][failure][memory]") {
  MiniCluster cluster;
  REQUIRE_OK(cluster.Start());
  const auto start = std::chrono::steady_clock::now();
  CommandResult r = Submit(cluster.master_url(),
                           {"--executor-memory", "512m", "--conf", "kiln.task.maxFailures=2"},
                           AppPath("failing_app"), {"hog"});
  INFO(r.ToString());
  CHECK_FALSE(r.timed_out);
  CHECK(r.exit_code != 0);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(30));
  CHECK(r.out.find("count=") == std::string::npos);
  const std::string message = DriverMessage(r.err);
  INFO("the driver's message: " << message);
  CHECK(message.find("failed 2 times") != std::string::npos);
  CHECK(message.find("host 127.0.0.1") != std::string::npos);
  CHECK(message.find("exceeded its memory limit of 896.0 MiB (kiln.executor.memory 512.0 MiB + "
                     "kiln.executor.memoryOverhead 384.0 MiB") != std::string::npos);
  CHECK(message.find("raise --executor-memory") != std::string::npos);
  // Enforced by the kernel where the worker could make a memory cgroup, else by its
  // watchdog; the message says which.
  const std::string worker_log = ReadFile(cluster.worker_log(0)).value_or("");
  const bool cgroup = worker_log.find("executor memory limits: cgroup") != std::string::npos;
  INFO("the worker's log: " << worker_log);
  CHECK((cgroup || worker_log.find("executor memory limits: RSS watchdog") != std::string::npos));
  CHECK(message.find(cgroup ? "the kernel killed it at the limit of its memory cgroup"
                            : "when the worker killed it") != std::string::npos);
  // The job doctor, before the error: memory ran out on the executors.
  CHECK(r.err.find("kiln doctor: job 0 (count): 1 finding\n  [failures] ") != std::string::npos);
  CHECK(r.err.find("the job failed (executor-side memory)") != std::string::npos);
  CHECK(r.err.find("fix: the executors ran out of memory") != std::string::npos);
  REQUIRE_OK(CheckClusterIdle(cluster));
}

TEST_CASE(
    "jobs: an executor killed at its limit while its task spills: the error says how "
    "far the task had got",
    "[jobs][failure][memory]") {
  MiniCluster cluster;
  REQUIRE_OK(cluster.Start());
  CommandResult r = Submit(cluster.master_url(),
                           {"--executor-memory", "512m", "--conf", "kiln.task.maxFailures=1"},
                           AppPath("failing_app"), {"spillhog"});
  INFO(r.ToString());
  CHECK_FALSE(r.timed_out);
  CHECK(r.exit_code != 0);
  const std::string message = DriverMessage(r.err);
  INFO("the driver's message: " << message);
  CHECK(message.find("task 0 in stage 2 failed 1 time,") != std::string::npos);  // 1: the sample
  CHECK(message.find("; the task had spilled ") != std::string::npos);
  CHECK(message.find(" on disk, peak execution memory ") != std::string::npos);
  CHECK(message.find("exceeded its memory limit of 896.0 MiB") != std::string::npos);
  REQUIRE_OK(CheckClusterIdle(cluster));
}

TEST_CASE("jobs: in local mode a driver past its limit names what its tasks had spilled",
          "[jobs][failure][memory]") {
  CommandResult r =
      Submit("local[2]", {"--driver-memory", "512m"}, AppPath("failing_app"), {"spillhog"});
  INFO(r.ToString());
  CHECK_FALSE(r.timed_out);
  CHECK(r.exit_code == -SIGKILL);
  CHECK(r.err.find("kiln: the driver exceeded its memory limit of 896.0 MiB in local mode") !=
        std::string::npos);
  CHECK(r.err.find(") had spilled ") != std::string::npos);
  CHECK(r.err.find("(stage 2, partition 0) had spilled ") != std::string::npos);
}

TEST_CASE(
    "jobs: with kiln.worker.memoryLimits=watchdog the worker itself kills an executor "
    "past its limit",
    "[jobs][failure][memory]") {
  MiniCluster cluster({.worker_conf = {"kiln.worker.memoryLimits=watchdog"}});
  REQUIRE_OK(cluster.Start());
  CommandResult r = Submit(cluster.master_url(),
                           {"--executor-memory", "512m", "--conf", "kiln.task.maxFailures=1"},
                           AppPath("failing_app"), {"hog"});
  INFO(r.ToString());
  CHECK(r.exit_code != 0);
  const std::string message = DriverMessage(r.err);
  INFO("the driver's message: " << message);
  CHECK(message.find("exceeded its memory limit of 896.0 MiB") != std::string::npos);
  CHECK(message.find("when the worker killed it") != std::string::npos);
  REQUIRE_OK(CheckClusterIdle(cluster));
}

TEST_CASE("jobs: in local mode a driver past its memory limit kills itself, saying so",
          "[jobs][failure][memory]") {
  CommandResult r =
      Submit("local[2]", {"--driver-memory", "450m"}, AppPath("failing_app"), {"hog"});
  INFO(r.ToString());
  CHECK_FALSE(r.timed_out);
  CHECK(r.exit_code == -SIGKILL);
  CHECK(r.out.find("count=") == std::string::npos);
  CHECK(r.err.find("kiln: the driver exceeded its memory limit of 834.0 MiB in local mode "
                   "(kiln.driver.memory 450.0 MiB + kiln.driver.memoryOverhead 384.0 MiB") !=
        std::string::npos);
  CHECK(r.err.find("raise --driver-memory") != std::string::npos);
}

TEST_CASE(
    "jobs: collect() past kiln.driver.maxResultSize fails naming it, and the cluster stays "
    "healthy",
    "[jobs][failure]") {
  MiniCluster cluster;
  REQUIRE_OK(cluster.Start());
  CommandResult r = Submit(cluster.master_url(), {"--conf", "kiln.driver.maxResultSize=1m"},
                           AppPath("failing_app"), {"collect"});
  INFO(r.ToString());
  CHECK(r.exit_code != 0);
  CHECK(r.out.find("collected=") == std::string::npos);
  const std::string message = DriverMessage(r.err);
  INFO("the driver's message: " << message);
  CHECK(message.starts_with("kiln: collect failed (job 0): "));
  CHECK(message.find("driver's result memory") != std::string::npos);
  CHECK(message.find("is bigger than kiln.driver.maxResultSize (1.0 MiB)") != std::string::npos);
  CHECK(message.find("take(n)") != std::string::npos);
  CHECK(r.err.find("the job failed (driver-side memory)") != std::string::npos);
  REQUIRE_OK(CheckClusterIdle(cluster));
  // The same job within the default limit (1g) runs on the same cluster.
  CommandResult ok = Submit(cluster.master_url(), {}, AppPath("failing_app"), {"collect"});
  INFO(ok.ToString());
  CHECK(ok.exit_code == 0);
  CHECK(ok.out == "collected=100\n");
  REQUIRE_OK(CheckClusterIdle(cluster));
}

}  // namespace
}  // namespace kiln::test::jobs
