// Several applications on one cluster at once: they queue first come, first served, a
// waiting one outlives kiln.scheduler.maxRegisteredResourcesWaitingTime and says why it
// waits, caps (kiln.cores.max, the master's kiln.deploy.defaultCores) let them run side by
// side, and every one ends with exact output. The master's own placement rules are
// unit-tested in tests/master/sharing_test.cc.

#include <algorithm>
#include <map>
#include <memory>
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

// One slow_app submission writing DIR/<name>.out (its output dir is DIR/<name>).
struct Submission {
  Submission(const MiniCluster& cluster, const TempDir& dir, const std::string& name,
             const std::string& mode = "", std::vector<std::string> env = {})
      : output(dir.Sub(name)),
        stderr_path(dir.Sub(name + ".err")),
        process(cluster.master_url(), dir,
                mode.empty() ? std::vector<std::string>{output}
                             : std::vector<std::string>{output, mode},
                std::move(env), "", name) {}

  // The application id kiln-submit announced, waiting for it; "" if it did not.
  std::string AppId() {
    std::string id;
    WaitFor([&] { return !(id = AppIdFromStderr(Stderr())).empty(); }, seconds(30));
    return id;
  }
  std::string Stderr() const { return ReadFile(stderr_path).value_or(""); }
  // Lets a `stall` run write its output.
  void Release() const { WriteTestFile(output + ".go", ""); }
  // Waits for it to end; it must succeed with the reference's lines (in key order
  // unless `stall`, whose reduce output is unsorted).
  void ExpectExact(bool sorted = true) {
    INFO("kiln-submit stderr of " << output << ": " << Stderr());
    const auto& exit = process.Wait(seconds(120));
    REQUIRE(exit.has_value());
    CHECK(exit->code() == 0);
    if (sorted) {
      CHECK(ReadParts(output) == SlowAppReference());
    } else {
      CHECK(SortedLines(ReadParts(output)) == SortedLines(SlowAppReference()));
    }
  }

  std::string output;
  std::string stderr_path;
  BackgroundSubmit process;
};

// The master's /json entry of active application `id` (null when it is not active).
Json ActiveApp(const MiniCluster& cluster, const std::string& id) {
  return FindApp(cluster.MasterState(), "activeapps", id);
}

TEST_CASE("sharing: a second application waits while the first holds every core, then runs",
          "[jobs][sharing]") {
  TempDir dir("kiln-sharing-");
  MiniCluster cluster;  // 2 workers of 2 cores
  REQUIRE_OK(cluster.Start());
  Submission first(cluster, dir, "first", "stall");
  const std::string first_id = first.AppId();
  REQUIRE_FALSE(first_id.empty());
  REQUIRE(
      WaitFor([&] { return ActiveApp(cluster, first_id).value("cores", 0) == 4; }, seconds(30)));

  // Its first executor would be due within 1 s: it waits past that, saying why.
  Submission second(cluster, dir, "second", "",
                    {"KILN_CONF_kiln_scheduler_maxRegisteredResourcesWaitingTime=1s"});
  const std::string second_id = second.AppId();
  REQUIRE_FALSE(second_id.empty());
  Json waiting;
  REQUIRE(WaitFor(
      [&] {
        waiting = ActiveApp(cluster, second_id);
        return waiting.value("state", "") == "WAITING";
      },
      seconds(30)));
  CHECK(waiting.value("cores", -1) == 0);
  CHECK(waiting.value("waitingreason", "") ==
        "needs 1 core per executor (kiln.executor.cores); the most free on a worker with 1.0 "
        "GiB free is 0");
  REQUIRE(WaitFor(
      [&] {
        return second.Stderr().find("kiln: waiting for executors: needs 1 core per executor") !=
               std::string::npos;
      },
      seconds(30)));
  CHECK(ActiveApp(cluster, first_id).value("cores", 0) == 4);

  first.Release();
  first.ExpectExact(/*sorted=*/false);
  second.ExpectExact();
  REQUIRE_OK(CheckAppEnded(cluster, second.Stderr(), "FINISHED"));
  REQUIRE_OK(CheckClusterIdle(cluster));
}

TEST_CASE("sharing: five applications submitted at once all finish with exact results",
          "[jobs][sharing]") {
  TempDir dir("kiln-sharing-");
  MiniCluster cluster;
  REQUIRE_OK(cluster.Start());
  std::vector<std::unique_ptr<Submission>> apps;
  for (int i = 0; i < 5; ++i) {
    apps.push_back(std::make_unique<Submission>(cluster, dir, StrCat("app-", i)));
  }
  // Until every one has ended, the grants the master shows never exceed the cluster.
  int most_active = 0;
  const bool ended = WaitFor(
      [&] {
        Json state = cluster.MasterState();
        if (!state.is_object()) return false;
        int granted = 0;
        for (const Json& app : state["activeapps"]) granted += app.value("cores", 0);
        CHECK(granted <= 4);
        most_active = std::max(most_active, static_cast<int>(state["activeapps"].size()));
        return state["completedapps"].size() == 5;
      },
      seconds(180));
  INFO(cluster.MasterState().dump());
  REQUIRE(ended);
  CHECK(most_active >= 2);  // they were submitted together: some had to wait
  for (auto& app : apps) {
    app->ExpectExact();
    REQUIRE_OK(CheckAppEnded(cluster, app->Stderr(), "FINISHED"));
  }
  REQUIRE_OK(CheckClusterIdle(cluster));
}

TEST_CASE("sharing: with caps (kiln.cores.max, kiln.deploy.defaultCores) two run side by side",
          "[jobs][sharing]") {
  TempDir dir("kiln-sharing-");
  MiniClusterOptions options;
  options.master_conf = {"kiln.deploy.defaultCores=2"};
  MiniCluster cluster(options);
  REQUIRE_OK(cluster.Start());
  // One caps itself, the other gets the master's default cap; both hold executors now.
  Submission capped(cluster, dir, "capped", "stall", {"KILN_CONF_kiln_cores_max=2"});
  Submission uncapped(cluster, dir, "uncapped", "stall");
  const std::string capped_id = capped.AppId();
  const std::string uncapped_id = uncapped.AppId();
  REQUIRE_FALSE(capped_id.empty());
  REQUIRE_FALSE(uncapped_id.empty());
  REQUIRE(WaitFor(
      [&] {
        Json state = cluster.MasterState();
        Json a = FindApp(state, "activeapps", capped_id);
        Json b = FindApp(state, "activeapps", uncapped_id);
        return a.value("cores", 0) == 2 && b.value("cores", 0) == 2;
      },
      seconds(30)));
  CHECK(ActiveApp(cluster, capped_id).value("maxcores", 0) == 2);
  CHECK(ActiveApp(cluster, uncapped_id).value("maxcores", -1) == 0);
  capped.Release();
  uncapped.Release();
  capped.ExpectExact(/*sorted=*/false);
  uncapped.ExpectExact(/*sorted=*/false);
  REQUIRE_OK(CheckClusterIdle(cluster));
}

}  // namespace
}  // namespace kiln::test::jobs
