// GET /metrics of a real master and its workers, in Prometheus's text format, after a
// job: every line well-formed (tests/support/prometheus_text.h), and the figures those of
// the cluster and of what ran.

#include <string>

#include "common/files.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/strings.h"
#include "common/wait.h"
#include "tests/jobs/job_util.h"
#include "tests/kiln_catch.h"
#include "tests/support/mini_cluster.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/test_util.h"

namespace kiln::test::jobs {
namespace {

MetricSamples Scrape(int port) {
  absl::StatusOr<std::string> text = HttpGet("127.0.0.1", port, "/metrics");
  REQUIRE_OK(text.status());
  INFO(*text);
  absl::StatusOr<MetricSamples> samples = ParseMetrics(*text);
  REQUIRE_OK(samples.status());
  return *samples;
}

TEST_CASE("metrics: the master and the workers export the cluster and their calls",
          "[jobs][metrics]") {
  MiniCluster cluster;
  REQUIRE_OK(cluster.Start());
  TempDir dir;
  const std::string text = GenerateText(5, 2000);
  WriteTestFile(dir.Sub("in.txt"), text);
  CommandResult run =
      Submit(cluster.master_url(), {}, BinPath("wordcount"), {dir.Sub("in.txt"), dir.Sub("out")});
  INFO(run.ToString());
  REQUIRE(run.exit_code == 0);
  REQUIRE_OK(CheckClusterIdle(cluster));

  MetricSamples master = Scrape(cluster.master_ui_port());
  CHECK(master.at("kiln_master_workers{state=\"ALIVE\"}") == 2);
  CHECK(master.at("kiln_master_workers{state=\"DEAD\"}") == 0);
  CHECK(master.at("kiln_master_cores") == 4);
  CHECK(master.at("kiln_master_cores_used") == 0);
  CHECK(master.at("kiln_master_memory_bytes") == 4.0 * 1024 * 1024 * 1024);
  CHECK(master.at("kiln_master_applications{state=\"RUNNING\"}") == 0);
  CHECK(master.at("kiln_master_applications_ended_total{state=\"FINISHED\"}") == 1);
  CHECK(master.at("kiln_master_executors_launched_total") == 2);
  CHECK(master.at("kiln_master_executors_failed_total") == 0);
  CHECK(master.at("kiln_master_drivers{state=\"RUNNING\"}") == 0);
  const std::string reg = "method=\"/kiln.proto.Master/RegisterWorker\"";
  CHECK(master.at("kiln_rpc_server_calls_total{" + reg + ",code=\"OK\"}") == 2);
  CHECK(master.at("kiln_rpc_server_duration_seconds_count{" + reg + "}") == 2);
  CHECK(master.at("kiln_rpc_server_calls_total{method=\"/kiln.proto.Master/RegisterApplication\","
                  "code=\"OK\"}") == 1);

  double served = 0;
  double blocks = 0;
  for (int i = 0; i < cluster.num_workers(); ++i) {
    MetricSamples worker = Scrape(cluster.worker_ui_port(i));
    CHECK(worker.at("kiln_worker_cores") == 2);
    CHECK(worker.at("kiln_worker_cores_used") == 0);
    CHECK(worker.at("kiln_worker_executors{state=\"RUNNING\"}") == 0);
    CHECK(worker.at("kiln_rpc_server_calls_total{method=\"/kiln.proto.Worker/LaunchExecutor\","
                    "code=\"OK\"}") == 1);
    // That executor started in a standby process (where the worker has memory cgroups)
    // or was forked.
    CHECK(worker.at("kiln_worker_executor_starts_total{process=\"standby\"}") +
              worker.at("kiln_worker_executor_starts_total{process=\"forked\"}") ==
          1);
    CHECK(worker.at("kiln_worker_standby_executors") <= 2);
    // Reducers read some blocks from the other worker (local ones from the disk).
    served += worker.at("kiln_worker_shuffle_bytes_served_total");
    blocks += worker.at("kiln_worker_shuffle_blocks_served_total");
  }
  CHECK(served > 0);
  CHECK(blocks > 0);
}

// With memory cgroups a worker starts executors in standby processes that wait in their
// cgroups (kiln.worker.standbyExecutors), and forks them when told to keep none.
TEST_CASE(
    "metrics: executors start in standby processes where the worker has memory "
    "cgroups, and are forked with kiln.worker.standbyExecutors=0",
    "[jobs][metrics]") {
  TempDir dir;
  WriteTestFile(dir.Sub("in.txt"), GenerateText(7, 500));
  for (const int standbys : {2, 0}) {
    MiniCluster cluster(
        {.num_workers = 1, .worker_conf = {StrCat("kiln.worker.standbyExecutors=", standbys)}});
    REQUIRE_OK(cluster.Start());
    const std::string log_before = ReadFile(cluster.worker_log(0)).value_or("");
    const bool cgroups = log_before.find("executor memory limits: cgroup") != std::string::npos;
    const double ready = cgroups ? standbys : 0;
    INFO("standbyExecutors=" << standbys << ", the worker's log: " << log_before);
    // The worker prepares them after it registers; a launch does not wait for them.
    REQUIRE(WaitFor(
        [&] {
          return Scrape(cluster.worker_ui_port(0)).at("kiln_worker_standby_executors") == ready;
        },
        std::chrono::seconds(20)));
    CommandResult run = Submit(cluster.master_url(), {}, BinPath("wordcount"),
                               {dir.Sub("in.txt"), dir.Sub(StrCat("out-", standbys))});
    INFO(run.ToString());
    REQUIRE(run.exit_code == 0);
    MetricSamples worker = Scrape(cluster.worker_ui_port(0));
    const double launched = worker.at(
        "kiln_rpc_server_calls_total{method=\"/kiln.proto.Worker/LaunchExecutor\",code=\"OK\"}");
    CHECK(launched >= 1);
    CHECK(launched <= 2);  // at most the ready standbys: none waits for a replacement
    const double from_standby = worker.at("kiln_worker_executor_starts_total{process=\"standby\"}");
    CHECK(from_standby == (ready > 0 ? launched : 0));
    CHECK(worker.at("kiln_worker_executor_starts_total{process=\"forked\"}") ==
          launched - from_standby);
    const std::string log = ReadFile(cluster.worker_log(0)).value_or("");
    CHECK((log.find("/standby-") != std::string::npos) == (ready > 0));
    // Replaced in the background.
    CHECK(WaitFor(
        [&] {
          return Scrape(cluster.worker_ui_port(0)).at("kiln_worker_standby_executors") == ready;
        },
        std::chrono::seconds(20)));
    REQUIRE_OK(CheckClusterIdle(cluster));
  }
}

}  // namespace
}  // namespace kiln::test::jobs
