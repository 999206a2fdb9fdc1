// The master's bounds on failing executors (kiln.deploy.maxExecutorRetries, the pause of
// a running application, the launch backoff), with fake workers and a fake clock.

#include <string>

#include "common/executor_command.h"
#include "master/master.h"
#include "tests/kiln_catch.h"
#include "tests/master/master_fixture.h"

namespace kiln::master {
namespace {

TEST_CASE("master: consecutive executor failures remove the application as FAILED") {
  MasterFixture c(true, /*retries=*/3);
  c.AddWorker(1, 4, 4096);
  std::string app = c.AddApp(4, 1024, 0);
  c.ReportExecutor(1, app, 0, ExecutorEvent::kFailed);
  c.ReportExecutor(1, app, 1, ExecutorEvent::kRunning);  // a success resets the count
  c.ReportExecutor(1, app, 1, ExecutorEvent::kFailed);
  c.ReportExecutor(1, app, 2, ExecutorEvent::kFailed);
  CHECK(c.App(app).state == "RUNNING");
  c.commands.Take();
  c.ReportExecutor(1, app, 3, ExecutorEvent::kFailed);  // third in a row
  CHECK(c.App(app).state == "FAILED");
  CHECK(c.commands.Take() == std::vector<std::string>{"failed " + Addr(1) + " " + app});
  CHECK(c.Worker(1).cores_used == 0);
  CHECK(c.Worker(1).memory_used_mb == 0);
}

TEST_CASE("master: failures elsewhere do not remove an application whose executors run") {
  MasterFixture c(true, /*retries=*/3);
  c.AddWorker(1, 2, 4096);
  c.AddWorker(2, 2, 4096);
  std::string app = c.AddApp(2, 1024, 0);  // executor 0 on one worker, 1 on the other
  const AppView started = c.App(app);
  REQUIRE(started.executors.size() == 2);
  const int good = started.executors[0].worker_id == "w1" ? 1 : 2;
  const int bad = 3 - good;
  const int good_id =
      started.executors[0].worker_id == "w1" ? started.executors[0].id : started.executors[1].id;
  c.ReportExecutor(good, app, good_id, ExecutorEvent::kRunning);
  // The executors on the bad worker fail one after the other: the third in a row pauses
  // the launches instead of removing an application that runs.
  for (int i = 0; i < 3; ++i) {
    const AppView now = c.App(app);
    int failing = -1;
    for (const auto& e : now.executors) {
      if (e.worker_id == StrCat("w", bad)) failing = e.id;
    }
    REQUIRE(failing >= 0);
    c.ReportExecutor(bad, app, failing, ExecutorEvent::kFailed);
  }
  CHECK(c.App(app).state == "RUNNING");
  CHECK(c.App(app).executors.size() == 1);
  CHECK(c.Worker(bad).cores_used == 0);  // no new launch there
  c.commands.Take();

  // A new worker lifts the pause.
  c.AddWorker(3, 2, 4096);
  CHECK(c.commands.With("launch " + Addr(3)).size() == 1);

  // Losing the last running executor while past the retries ends it: w3's launch fails,
  // twice more in a row on w3, then the good worker shuts down.
  for (int i = 0; i < 3; ++i) {
    int failing = -1;
    for (const auto& e : c.App(app).executors) {
      if (e.worker_id == "w3") failing = e.id;
    }
    REQUIRE(failing >= 0);
    c.ReportExecutor(3, app, failing, ExecutorEvent::kFailed);
  }
  CHECK(c.App(app).state == "RUNNING");
  c.master->UnregisterWorker(StrCat("w", good), "stopped by signal 15 (SIGTERM)");
  CHECK(c.App(app).state == "FAILED");
  CHECK_THAT(c.master->EndReason(app),
             Catch::Contains("3 executor failures in a row (kiln.deploy.maxExecutorRetries=3)"));
}

TEST_CASE("master: executors that lost their driver end the application without relaunches") {
  MasterFixture c;
  c.AddWorker(1, 2, 4096);
  c.AddWorker(2, 2, 4096);
  std::string app = c.AddApp(2, 1024, 0);
  c.ReportExecutor(1, app, 0, ExecutorEvent::kRunning);
  c.ReportExecutor(2, app, 1, ExecutorEvent::kRunning);
  c.commands.Take();
  c.ReportExecutor(1, app, 0, ExecutorEvent::kFailed, kExitDriverLost);
  CHECK(c.App(app).state == "RUNNING");  // executor 1 still reaches it
  CHECK(c.commands.With("launch").empty());
  c.ReportExecutor(2, app, 1, ExecutorEvent::kFailed, kExitDriverLost);
  CHECK(c.App(app).state == "FAILED");
  CHECK(c.commands.With("launch").empty());
  CHECK_THAT(c.master->EndReason(app),
             Catch::Contains("its driver is gone: executor 1 lost its stream to the driver at "
                             "10.0.0.9:4000"));
  CHECK(c.Worker(1).cores_used == 0);
  CHECK(c.Worker(2).cores_used == 0);

  // The same exit from an executor that never reached its driver is an ordinary
  // failure: it is replaced.
  std::string other = c.AddApp(2, 1024, 2);
  c.commands.Take();
  const int first = c.App(other).executors.at(0).id;
  const int worker = c.App(other).executors.at(0).worker_id == "w1" ? 1 : 2;
  c.ReportExecutor(worker, other, first, ExecutorEvent::kFailed, kExitDriverLost);
  CHECK(c.App(other).state == "RUNNING");
  CHECK(c.commands.With("launch").size() == 1);
}

TEST_CASE("master: a launch retried after a lost reply is not a failure") {
  MasterFixture c(true, /*retries=*/1);
  c.AddWorker(1, 4, 4096);
  c.commands.AnswerLaunchesTo(Addr(1), absl::AlreadyExistsError("executor 0 exists"));
  std::string app = c.AddApp(4, 1024, 0);
  CHECK(c.App(app).state == "RUNNING");
  CHECK(c.App(app).executors.size() == 1);
  CHECK(c.Worker(1).cores_used == 4);
}

TEST_CASE("master: a failed launch counts as a failed executor") {
  MasterFixture c(true, /*retries=*/2);
  c.AddWorker(1, 4, 4096);
  c.commands.FailLaunchesTo(Addr(1));
  std::string app = c.AddApp(4, 1024, 0);
  // Two launches fail, then the application is removed.
  CHECK(c.commands.With("launch").size() == 2);
  CHECK(c.App(app).state == "FAILED");
  CHECK(c.Worker(1).cores_used == 0);
}

TEST_CASE("master: with no retry limit, launches back off after ten failures in a row") {
  MasterFixture c(true, /*retries=*/0);
  auto launches = [&] {
    size_t n = 0;
    for (const std::string& call : c.commands.Take()) n += call.starts_with("launch ") ? 1 : 0;
    return n;
  };
  c.AddWorker(1, 4, 4096);
  c.commands.FailLaunchesTo(Addr(1));
  std::string app = c.AddApp(4, 1024, 0);
  // Ten launches fail at once, one after the other; the tenth starts the backoff.
  CHECK(launches() == Master::kLaunchBackoffAfter);
  CHECK(c.App(app).state == "RUNNING");
  CHECK(c.Worker(1).cores_used == 0);
  // 1 s, then 2 s, 4 s...: nothing before the wait ends, one launch when it does.
  for (int wait : {1, 2, 4, 8}) {
    c.clock.Advance(seconds(wait) - std::chrono::milliseconds(1));
    c.sweeper->SweepOnce();
    CHECK(launches() == 0);
    c.clock.Advance(std::chrono::milliseconds(1));
    c.sweeper->SweepOnce();
    CHECK(launches() == 1);
  }
  // An executor that registers resets the count: the next failure relaunches at once.
  c.commands.SucceedLaunchesTo(Addr(1));
  c.clock.Advance(seconds(16));
  c.sweeper->SweepOnce();
  REQUIRE(launches() == 1);
  const int running = c.App(app).executors.at(0).id;
  c.ReportExecutor(1, app, running, ExecutorEvent::kRunning);
  c.ReportExecutor(1, app, running, ExecutorEvent::kFailed);
  CHECK(launches() == 1);
  CHECK(c.Worker(1).cores_used == 4);
}

}  // namespace
}  // namespace kiln::master
