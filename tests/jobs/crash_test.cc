// Failures that repeat: tasks that end their own executor, executors that cannot start,
// a shuffle server that keeps failing. Every such loop is bounded, the job's error says
// what happened, and the cluster ends idle.
#include <chrono>
#include <string>

#include "common/files.h"
#include "tests/jobs/job_util.h"
#include "tests/kiln_catch.h"
#include "tests/support/mini_cluster.h"
#include "tests/support/test_util.h"

namespace kiln::test::jobs {
namespace {

using Clock = std::chrono::steady_clock;

// Everything from the driver's final message to the end of stderr (the message goes on
// with the executor's stderr lines).
std::string DriverReport(const std::string& err) {
  const size_t at = err.rfind("\nkiln: ");
  return at == std::string::npos ? err : err.substr(at + 1);
}

TEST_CASE("fault: a task that crashes its executor every time fails the job, bounded",
          "[fault][crash]") {
  MiniCluster cluster;
  REQUIRE_OK(cluster.Start());
  struct Crash {
    const char* mode;
    const char* exit;  // how the executor ended, as the error must say it
    bool reported;     // a crash report names the task (not after _Exit)
  };
  for (const Crash& crash :
       {Crash{"exit", "exit code 9", false}, Crash{"exit0", "exit code 0 from its task", true},
        Crash{"abort", "killed by signal 6 (Aborted)", true},
        Crash{"segv", "killed by signal 11 (Segmentation fault)", true}}) {
    const auto start = Clock::now();
    CommandResult r = Submit(cluster.master_url(), {}, AppPath("failing_app"), {crash.mode});
    const auto took = Clock::now() - start;
    INFO("failing_app " << crash.mode << " (" << ElapsedMs(start) << " ms): " << r.ToString());
    CHECK_FALSE(r.timed_out);
    CHECK(r.exit_code == 1);
    CHECK(took < std::chrono::seconds(30));
    CHECK(r.out.find("count=") == std::string::npos);
    const std::string report = DriverReport(r.err);
    INFO("the driver's report: " << report);
    // kiln.task.maxFailures (4) attempts of the task, each ending an executor.
    CHECK(DriverMessage(r.err).find("in stage 0 failed 4 times") != std::string::npos);
    if (crash.reported) {
      // Record 42 is in partition 1 of 4: that task, not one that ran beside it.
      CHECK(DriverMessage(r.err).find("task 1 in stage 0 failed 4 times") != std::string::npos);
      CHECK(report.find("crash report: task=") != std::string::npos);
    }
    CHECK(report.find("host 127.0.0.1") != std::string::npos);
    CHECK(report.find(crash.exit) != std::string::npos);
    // The last lines of the executor's stderr.
    CHECK(report.find("failing_app: crashing on record 42") != std::string::npos);

    CHECK_OK(CheckAppEnded(cluster, r.err, "FAILED"));
    REQUIRE_OK(CheckClusterIdle(cluster));
    // The failed application's executor logs stay on the workers (and nothing else).
    std::string executor_stderr;
    CHECK_OK(CheckOnlyLogsLeft(cluster, AppIdFromStderr(r.err), &executor_stderr));
    CHECK(executor_stderr.find("failing_app: crashing on record 42") != std::string::npos);
  }
}

TEST_CASE("fault: a task that crashes its executor once: the job succeeds", "[fault][crash]") {
  MiniCluster cluster;
  REQUIRE_OK(cluster.Start());
  TempDir dir("kiln-crash-");
  CommandResult r =
      Submit(cluster.master_url(), {}, AppPath("failing_app"), {"exitonce", dir.Sub("crashed")});
  INFO(r.ToString());
  CHECK(r.exit_code == 0);
  CHECK(r.out == "count=100\n");
  CHECK(PathExists(dir.Sub("crashed")));  // it did crash once
  REQUIRE_OK(CheckClusterIdle(cluster));
  // A FINISHED application's dirs go whole, logs included.
  const std::string app = AppIdFromStderr(r.err);
  REQUIRE_FALSE(app.empty());
  for (int i = 0; i < cluster.num_workers(); ++i) {
    CHECK(
        WaitFor([&] { return !PathExists(cluster.worker_work_dir(i) + "/" + app); }, seconds(10)));
  }
}

TEST_CASE(
    "fault: executors that die before they reach the driver end the application after "
    "kiln.deploy.maxExecutorRetries, and the driver says why",
    "[fault][crash]") {
  MiniClusterOptions options;
  options.master_conf = {"kiln.deploy.maxExecutorRetries=3"};
  options.env = {"KILN_TEST_EXECUTORS_FAIL_AT_START=1"};
  MiniCluster cluster(options);
  REQUIRE_OK(cluster.Start());
  const auto start = Clock::now();
  CommandResult r = Submit(cluster.master_url(), {}, AppPath("failing_app"), {"ok"});
  const auto took = Clock::now() - start;
  INFO("(" << ElapsedMs(start) << " ms): " << r.ToString());
  CHECK_FALSE(r.timed_out);
  CHECK(r.exit_code == 1);
  // Long before kiln.scheduler.maxRegisteredResourcesWaitingTime (30 s).
  CHECK(took < std::chrono::seconds(15));
  const std::string report = DriverReport(r.err);
  INFO("the driver's report: " << report);
  CHECK(report.find("ended application") != std::string::npos);
  CHECK(report.find("3 executor failures in a row (kiln.deploy.maxExecutorRetries=3)") !=
        std::string::npos);
  CHECK(report.find("exit code 3") != std::string::npos);
  CHECK(report.find("failing_app: this executor cannot start") != std::string::npos);
  CHECK(report.find("no worker with a free core") == std::string::npos);  // not the cause

  CHECK_OK(CheckAppEnded(cluster, r.err, "FAILED"));
  REQUIRE_OK(CheckClusterIdle(cluster));
}

TEST_CASE(
    "fault: shuffle reads that keep failing abort the job after "
    "kiln.stage.maxConsecutiveAttempts naming the shuffle and the host",
    "[fault][crash]") {
  MiniClusterOptions options;
  options.worker_conf = {"kiln.test.failShuffleFetches=true"};
  MiniCluster cluster(options);
  REQUIRE_OK(cluster.Start());
  TempDir dir("kiln-crash-");
  const auto start = Clock::now();
  CommandResult r =
      Submit(cluster.master_url(),
             {"--conf", "kiln.stage.maxConsecutiveAttempts=2", "--conf",
              "kiln.shuffle.io.maxRetries=1", "--conf", "kiln.shuffle.io.retryWait=100ms"},
             AppPath("slow_app"), {dir.Sub("out")});
  INFO("(" << ElapsedMs(start) << " ms): " << r.ToString());
  CHECK_FALSE(r.timed_out);
  CHECK(r.exit_code == 1);
  const std::string message = DriverMessage(r.err);
  INFO("the driver's message: " << message);
  CHECK(message.find("could not be read in 2 consecutive attempts of the stage that reads it "
                     "(kiln.stage.maxConsecutiveAttempts)") != std::string::npos);
  CHECK(message.find(" of shuffle ") != std::string::npos);
  CHECK(message.find(" on 127.0.0.1:") != std::string::npos);
  CHECK(message.find("kiln.test.failShuffleFetches=true") != std::string::npos);
  CHECK_FALSE(PathExists(dir.Sub("out")));  // the failed job's output is gone
  CHECK_OK(CheckAppEnded(cluster, r.err, "FAILED"));
  REQUIRE_OK(CheckClusterIdle(cluster));
}

TEST_CASE("fault: a program that exits before its first action registers nothing",
          "[fault][crash]") {
  MiniCluster cluster;
  REQUIRE_OK(cluster.Start());
  CommandResult r = Submit(cluster.master_url(), {}, AppPath("failing_app"), {"no-such-mode"});
  INFO(r.ToString());
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("usage: failing_app") != std::string::npos);
  CHECK(AppIdFromStderr(r.err).empty());
  CHECK_OK(CheckNoApplications(cluster));
  REQUIRE_OK(CheckClusterIdle(cluster));
}

}  // namespace
}  // namespace kiln::test::jobs
