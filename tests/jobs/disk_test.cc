// A worker's disk that fills while a job runs: the tasks that cannot write fail naming
// the directory and run on another worker, the output is the fault-free one, and the
// worker stays up and serves the next job once its disk has room again.

#include <signal.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/files.h"
#include "common/wait.h"
#include "tests/jobs/background_submit.h"
#include "tests/jobs/job_util.h"
#include "tests/kiln_catch.h"
#include "tests/support/mini_cluster.h"
#include "tests/support/test_util.h"

namespace kiln::test::jobs {
namespace {

// Worker i is still process `pid`, ALIVE, and its disk is clean again once `app` ended.
void CheckWorkerStayedUp(const MiniCluster& cluster, int i, pid_t pid, const std::string& app) {
  CHECK(cluster.worker_pid(i) == pid);
  CHECK(kill(pid, 0) == 0);
  CHECK(cluster.WorkerState(i).value("state", "") == "ALIVE");
  CHECK(WaitFor([&] { return !PathExists(cluster.worker_work_dir(i) + "/" + app); }, seconds(10)));
}

TEST_CASE(
    "fault: a worker whose disk fills during a shuffle write fails the task naming the "
    "directory, the task runs elsewhere and the worker stays up",
    "[fault][disk]") {
  TempDir dir("kiln-disk-");
  CommandResult reference = Submit("local[2]", {}, AppPath("slow_app"), {dir.Sub("reference")});
  INFO(reference.ToString());
  REQUIRE(reference.exit_code == 0);

  MiniCluster cluster({.tmpfs_workers = {1}});  // worker 1's disk: a tmpfs to fill
  REQUIRE_OK(cluster.Start());
  const pid_t worker = cluster.worker_pid(1);
  std::string app;
  {
    BackgroundSubmit submit(cluster, dir, {dir.Sub("out")});
    // Both executors are up, their map tasks (160 ms each, 16 of them) under way: worker
    // 1's disk fills now, before any of its tasks writes its shuffle output.
    REQUIRE(WaitFor(
        [&] {
          app = AppIdFromStderr(ReadFile(dir.Sub("submit.err")).value_or(""));
          return !app.empty() && RegisteredExecutors(cluster, app) == 2;
        },
        seconds(30)));
    REQUIRE_OK(cluster.FillWorkerDisk(1));
    const std::string err = ExpectSameOutput(submit, dir, cluster);
    INFO(err);
    CHECK(err.find("No space left on device") != std::string::npos);
    CHECK(err.find(cluster.worker_work_dir(1) + "/" + app + "/") != std::string::npos);
  }
  CheckWorkerStayedUp(cluster, 1, worker, app);
  CommandResult again = Submit(cluster.master_url(), {}, AppPath("slow_app"), {dir.Sub("again")});
  INFO(again.ToString());
  CHECK(again.exit_code == 0);
  CHECK(ReadParts(dir.Sub("again")) == ReadParts(dir.Sub("reference")));
  REQUIRE_OK(CheckClusterIdle(cluster));
}

// Files being spilled by `app` on worker i (a task's spill files live until it ends).
bool Spilling(const MiniCluster& cluster, int i, const std::string& app) {
  std::error_code ec;
  for (const auto& e :
       std::filesystem::directory_iterator(cluster.worker_work_dir(i) + "/" + app, ec)) {
    if (!e.path().filename().string().starts_with("spill-")) continue;
    std::error_code empty_ec;
    if (!std::filesystem::is_empty(e.path(), empty_ec) && !empty_ec) return true;
  }
  return false;
}

TEST_CASE(
    "fault: a worker whose disk fills during a spill fails the task naming the directory, "
    "the task runs elsewhere and the worker stays up",
    "[fault][disk]") {
  // group_by_key of 20M records with 1% of the executor's memory managed: every task
  // spills many times.
  const std::vector<std::string> args = {"group", "20000000", "1000"};
  CommandResult reference = Submit("local[2]", {}, AppPath("spill_app"), args, seconds(120));
  INFO(reference.ToString());
  REQUIRE(reference.exit_code == 0);

  TempDir dir("kiln-disk-");
  MiniCluster cluster({.tmpfs_workers = {1}});  // worker 1's disk: a tmpfs to fill
  REQUIRE_OK(cluster.Start());
  const pid_t worker = cluster.worker_pid(1);
  std::string app;
  {
    BackgroundSubmit submit(
        cluster.master_url(), dir, args,
        {"KILN_CONF_kiln_executor_memory=512m", "KILN_CONF_kiln_memory_fraction=0.01"},
        AppPath("spill_app"));
    REQUIRE(WaitFor(
        [&] {
          if (app.empty()) app = AppIdFromStderr(ReadFile(dir.Sub("submit.err")).value_or(""));
          return !app.empty() && Spilling(cluster, 1, app);
        },
        seconds(60)));
    REQUIRE_OK(cluster.FillWorkerDisk(1));
    const std::optional<ExitInfo>& exit = submit.Wait(seconds(120));
    REQUIRE(exit.has_value());
    const std::string err = ReadFile(dir.Sub("submit.err")).value_or("");
    INFO(err);
    CHECK(exit->code() == 0);
    CHECK(ReadFile(dir.Sub("submit.out")).value_or("") == reference.out);
    CHECK(err.find("No space left on device") != std::string::npos);
    CHECK(err.find(cluster.worker_work_dir(1) + "/" + app + "/spill-") != std::string::npos);
  }
  CheckWorkerStayedUp(cluster, 1, worker, app);
  REQUIRE_OK(CheckClusterIdle(cluster));
}

}  // namespace
}  // namespace kiln::test::jobs
