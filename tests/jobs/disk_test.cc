// A worker's disk that fills while a job runs: the tasks that cannot write fail naming
// the directory and run on another worker, the output is the fault-free one, and the
// worker stays up and serves the next job once its disk has room again.

#include <signal.h>

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

TEST_CASE(
    "fault: a worker whose disk fills during a shuffle write fails the task naming the "
    "directory, the task runs elsewhere and the worker stays up",
    "[fault][disk]") {
  TempDir dir("kiln-disk-");
  CommandResult reference = Submit("local[2]", {}, AppPath("slow_app"), {dir.Sub("reference")});
  INFO(reference.ToString());
  REQUIRE(reference.exit_code == 0);

  MiniClusterOptions options;
  options.tmpfs_workers = {1};
  MiniCluster cluster(options);
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
  // The worker is the same process, ALIVE, and its disk is clean again.
  CHECK(cluster.worker_pid(1) == worker);
  CHECK(kill(worker, 0) == 0);
  CHECK(cluster.WorkerState(1).value("state", "") == "ALIVE");
  CHECK(WaitFor([&] { return !PathExists(cluster.worker_work_dir(1) + "/" + app); }, seconds(10)));
  CommandResult again = Submit(cluster.master_url(), {}, AppPath("slow_app"), {dir.Sub("again")});
  INFO(again.ToString());
  CHECK(again.exit_code == 0);
  CHECK(ReadParts(dir.Sub("again")) == ReadParts(dir.Sub("reference")));
  REQUIRE_OK(CheckClusterIdle(cluster));
}

}  // namespace
}  // namespace kiln::test::jobs
