// Dynamic allocation on a real cluster (tests/apps/phases_app: a job, idle time, a job):
// executors grow from minExecutors to the cap while tasks wait and go back when idle, as
// the master's /json shows, without losing their map outputs; an application that goes
// idle gives its cores to another.
// The decisions themselves are unit-tested in tests/driver/executor_allocation_test.cc.

#include <string>
#include <vector>

#include "common/files.h"
#include "common/strings.h"
#include "common/wait.h"
#include "tests/jobs/background_submit.h"
#include "tests/jobs/job_util.h"
#include "tests/kiln_catch.h"
#include "tests/support/mini_cluster.h"
#include "tests/support/test_util.h"

namespace kiln::test::jobs {
namespace {

// Executors of 1 core and 512m (4 fit on the default 2 workers of 2 cores), at most
// `max`, given back after 1 s idle; backlogs answered after 100 ms.
std::vector<std::string> DynamicEnv(int max) {
  return {"KILN_CONF_kiln_dynamicAllocation_enabled=true",
          StrCat("KILN_CONF_kiln_dynamicAllocation_maxExecutors=", max),
          "KILN_CONF_kiln_dynamicAllocation_executorIdleTimeout=1s",
          "KILN_CONF_kiln_dynamicAllocation_schedulerBacklogTimeout=100ms",
          "KILN_CONF_kiln_dynamicAllocation_sustainedSchedulerBacklogTimeout=100ms",
          "KILN_CONF_kiln_executor_cores=1",
          "KILN_CONF_kiln_executor_memory=512m"};
}

// One phases_app run: its output dir is DIR/<name>-out.
struct Phases {
  Phases(const MiniCluster& cluster, const TempDir& dir, const std::string& name, int max)
      : output(dir.Sub(name + "-out")),
        stdout_path(dir.Sub(name + ".out")),
        stderr_path(dir.Sub(name + ".err")),
        process(cluster.master_url(), dir, {output}, DynamicEnv(max), AppPath("phases_app"), name) {
  }

  std::string AppId() const {
    std::string id;
    WaitFor([&] { return !(id = AppIdFromStderr(ReadFile(stderr_path).value_or(""))).empty(); },
            seconds(30));
    return id;
  }
  bool FirstJobDone() const {
    return ReadFile(stdout_path).value_or("").find("first 10\n") != std::string::npos;
  }
  // Map tasks run so far (a line each in OUTPUT.runs).
  size_t MapRuns() const { return SplitLines(ReadFile(output + ".runs").value_or("")).size(); }
  void Go() const { WriteTestFile(output + ".go", ""); }
  void ExpectExact() {
    INFO("stderr: " << ReadFile(stderr_path).value_or(""));
    const auto& exit = process.Wait(seconds(120));
    REQUIRE(exit.has_value());
    CHECK(exit->code() == 0);
    // Numbers 0..1599 summed by x % 10: key k holds 160 numbers 10j + k.
    std::string reference;
    for (int64_t k = 0; k < 10; ++k) StrAppend(&reference, k, "\t", 127200 + 160 * k, "\n");
    CHECK(SortedLines(ReadParts(output)) == SortedLines(reference));
  }

  std::string output, stdout_path, stderr_path;
  BackgroundSubmit process;
};

// Executors the master grants application `id` now; -1 when it is not active.
int Executors(const MiniCluster& cluster, const std::string& id) {
  Json app = FindApp(cluster.MasterState(), "activeapps", id);
  return app.is_object() ? static_cast<int>(app["executors"].size()) : -1;
}

// Executors the master has launched for application `id` so far (its log's lines).
size_t Launches(const MiniCluster& cluster, const std::string& id) {
  const std::string needle = StrCat("launching executor app=", id, " ");
  size_t n = 0;
  for (const std::string& line : SplitLines(ReadFile(cluster.master_log()).value_or(""))) {
    if (line.find(needle) != std::string::npos) ++n;
  }
  return n;
}

TEST_CASE("dynamic allocation: executors grow to the cap under a backlog and go when idle",
          "[jobs][dynamic]") {
  TempDir dir("kiln-dynamic-");
  MiniCluster cluster;
  REQUIRE_OK(cluster.Start());
  Phases app(cluster, dir, "app", /*max=*/3);
  const std::string id = app.AppId();
  REQUIRE_FALSE(id.empty());
  INFO(cluster.MasterState().dump());
  // minExecutors is 0: it starts with none, and the first job's 16 tasks ask for more
  // until the cap of 3 (one core free on the cluster stays free).
  REQUIRE(WaitFor([&] { return Executors(cluster, id) == 3; }, seconds(60)));
  CHECK(FindApp(cluster.MasterState(), "activeapps", id).value("executorlimit", -1) == 3);
  CHECK(cluster.MasterState().value("coresused", -1) == 3);
  REQUIRE(WaitFor([&] { return app.FirstJobDone(); }, seconds(60)));
  // Idle between the jobs: every executor goes back.
  REQUIRE(WaitFor([&] { return Executors(cluster, id) == 0; }, seconds(30)));
  CHECK(FindApp(cluster.MasterState(), "activeapps", id).value("executorlimit", -1) == 0);
  REQUIRE(cluster.WaitForResourcesFree(seconds(30)));
  // The second job asks again, and its output is exact. Its map outputs were written by
  // executors that are gone, but they are the workers' files: no map task runs again.
  CHECK(app.MapRuns() == 16);
  // The second job may get its executor, run and end between two polls of /json, so its
  // launch is read from the master's log, which keeps it.
  const size_t launched = Launches(cluster, id);
  app.Go();
  REQUIRE(WaitFor([&] { return Launches(cluster, id) > launched; }, seconds(60)));
  app.ExpectExact();
  CHECK(app.MapRuns() == 16);
  REQUIRE_OK(CheckClusterIdle(cluster));
}

TEST_CASE("dynamic allocation: an application that goes idle gives its cores to another",
          "[jobs][dynamic]") {
  TempDir dir("kiln-dynamic-");
  MiniCluster cluster;
  REQUIRE_OK(cluster.Start());
  Phases first(cluster, dir, "first", /*max=*/4);
  const std::string first_id = first.AppId();
  REQUIRE_FALSE(first_id.empty());
  REQUIRE(WaitFor([&] { return Executors(cluster, first_id) == 4; }, seconds(60)));
  // The second comes while the first holds every core; it runs both its jobs at once.
  Phases second(cluster, dir, "second", /*max=*/4);
  second.Go();
  const std::string second_id = second.AppId();
  REQUIRE_FALSE(second_id.empty());
  // The first goes idle after its first job: its executors go, and the second, which
  // could not start a task while the first held the cluster, gets them and finishes
  // while the first still idles.
  REQUIRE(WaitFor([&] { return first.FirstJobDone(); }, seconds(60)));
  REQUIRE(WaitFor([&] { return Executors(cluster, first_id) == 0; }, seconds(60)));
  second.ExpectExact();
  REQUIRE_OK(CheckAppEnded(cluster, ReadFile(second.stderr_path).value_or(""), "FINISHED"));
  CHECK(Executors(cluster, first_id) == 0);
  first.Go();
  first.ExpectExact();
  REQUIRE_OK(CheckClusterIdle(cluster));
}

}  // namespace
}  // namespace kiln::test::jobs
