// ExecutorTable with fake processes and a fake clock: kill escalation, reaping, races
// between kills and launches, finished applications.

#include "worker/executor_table.h"

#include <signal.h>

#include <map>
#include <vector>

#include "tests/kiln_catch.h"
#include "tests/support/test_util.h"

namespace kiln::worker {
namespace {

class FakeProcesses : public ProcessControl {
 public:
  std::optional<ExitInfo> TryWait(pid_t pid) override {
    auto it = exited.find(pid);
    if (it == exited.end()) return std::nullopt;
    ExitInfo info = it->second;
    exited.erase(it);
    return info;
  }
  void Signal(pid_t pid, int signal) override { signals.push_back({pid, signal}); }
  absl::StatusOr<int64_t> ResidentBytes(pid_t pid) override {
    auto it = rss.find(pid);
    if (it == rss.end()) return absl::NotFoundError("no such process");
    return it->second;
  }

  std::map<pid_t, ExitInfo> exited;
  std::map<pid_t, int64_t> rss;
  std::vector<std::pair<pid_t, int>> signals;
};

ExecutorSpec Spec(const std::string& app, int id) {
  return {.app_id = app, .executor_id = id, .cores = 2, .memory_mb = 512};
}

TEST_CASE("an executor that exits is reaped and reported once", "[worker][executors]") {
  FakeProcesses procs;
  FakeClock clock;
  ExecutorTable table(&procs, &clock, std::chrono::seconds(5));
  REQUIRE_OK(table.BeginLaunch(Spec("app-1", 0)));
  CHECK(absl::IsAlreadyExists(table.BeginLaunch(Spec("app-1", 0))));
  table.SetRunning("app-1", 0, 100, "/w/app-1/executor-0");
  CHECK(table.Poll().empty());
  procs.exited[100] = ExitInfo{.exit_code = 3};
  std::vector<ExecutorExit> exits = table.Poll();
  REQUIRE(exits.size() == 1);
  CHECK(exits[0].spec.app_id == "app-1");
  CHECK(exits[0].exit.exit_code == 3);
  CHECK_FALSE(exits[0].killed);
  CHECK(exits[0].dir == "/w/app-1/executor-0");
  CHECK(table.Empty());
  CHECK(table.Poll().empty());
}

TEST_CASE("a kill sends SIGTERM, then SIGKILL after the grace", "[worker][executors]") {
  FakeProcesses procs;
  FakeClock clock;
  ExecutorTable table(&procs, &clock, std::chrono::seconds(5));
  REQUIRE_OK(table.BeginLaunch(Spec("app-1", 0)));
  table.SetRunning("app-1", 0, 100, "/d");
  table.Kill("app-1", 0);
  table.Kill("app-1", 0);  // idempotent
  REQUIRE(procs.signals == std::vector<std::pair<pid_t, int>>{{100, SIGTERM}});
  clock.Advance(std::chrono::seconds(4));
  CHECK(table.Poll().empty());
  CHECK(procs.signals.size() == 1);
  clock.Advance(std::chrono::seconds(2));
  CHECK(table.Poll().empty());
  REQUIRE(procs.signals.size() == 2);
  CHECK(procs.signals[1] == std::pair<pid_t, int>{100, SIGKILL});
  procs.exited[100] = ExitInfo{.signal = SIGKILL, .signaled = true};
  std::vector<ExecutorExit> exits = table.Poll();
  REQUIRE(exits.size() == 1);
  CHECK(exits[0].killed);
  table.Kill("unknown-app", 9);  // ignored
}

TEST_CASE("a kill during the launch stops the process as soon as it exists",
          "[worker][executors]") {
  FakeProcesses procs;
  FakeClock clock;
  ExecutorTable table(&procs, &clock, std::chrono::seconds(5));
  REQUIRE_OK(table.BeginLaunch(Spec("app-1", 0)));
  table.Kill("app-1", 0);
  CHECK(table.IsKillRequested("app-1", 0));
  CHECK(procs.signals.empty());
  table.SetRunning("app-1", 0, 100, "/d");
  CHECK(procs.signals == std::vector<std::pair<pid_t, int>>{{100, SIGTERM}});
  procs.exited[100] = ExitInfo{.signal = SIGTERM, .signaled = true};
  auto exits = table.Poll();
  REQUIRE(exits.size() == 1);
  CHECK(exits[0].killed);
}

TEST_CASE("a finished application's executors stop and new ones are refused",
          "[worker][executors]") {
  FakeProcesses procs;
  FakeClock clock;
  ExecutorTable table(&procs, &clock, std::chrono::seconds(5));
  REQUIRE_OK(table.BeginLaunch(Spec("app-1", 0)));
  REQUIRE_OK(table.BeginLaunch(Spec("app-1", 1)));
  REQUIRE_OK(table.BeginLaunch(Spec("app-2", 0)));
  table.SetRunning("app-1", 0, 100, "/d");
  table.SetRunning("app-1", 1, 101, "/d");
  table.SetRunning("app-2", 0, 200, "/d");
  table.FinishApp("app-1");
  CHECK(procs.signals.size() == 2);
  CHECK(absl::IsFailedPrecondition(table.BeginLaunch(Spec("app-1", 2))));
  CHECK(table.HasExecutors("app-1"));
  procs.exited[100] = ExitInfo{};
  procs.exited[101] = ExitInfo{};
  CHECK(table.Poll().size() == 2);
  CHECK_FALSE(table.HasExecutors("app-1"));
  CHECK(table.HasExecutors("app-2"));
  table.FinishApp("app-never-seen");  // idempotent for unknown apps
  std::vector<ExecutorView> left = table.Snapshot();
  REQUIRE(left.size() == 1);
  CHECK(left[0].spec.app_id == "app-2");
  CHECK(left[0].running);
  CHECK(left[0].pid == 200);
}

TEST_CASE("a launch that fails leaves no entry", "[worker][executors]") {
  FakeProcesses procs;
  FakeClock clock;
  ExecutorTable table(&procs, &clock, std::chrono::seconds(5));
  REQUIRE_OK(table.BeginLaunch(Spec("app-1", 0)));
  std::vector<ExecutorView> views = table.Snapshot();
  REQUIRE(views.size() == 1);
  CHECK_FALSE(views[0].running);
  table.EndLaunch("app-1", 0);
  CHECK(table.Empty());
}

TEST_CASE("an executor above its memory limit is killed at once and reported as failed",
          "[worker][executors]") {
  FakeProcesses procs;
  FakeClock clock;
  ExecutorTable table(&procs, &clock, std::chrono::seconds(5));
  ExecutorSpec limited = Spec("app-1", 0);
  limited.memory_limit_bytes = 1000 << 20;
  limited.host = "h0";
  REQUIRE_OK(table.BeginLaunch(limited));
  REQUIRE_OK(table.BeginLaunch(Spec("app-1", 1)));  // no limit: never checked
  table.SetRunning("app-1", 0, 100, "/d0");
  table.SetRunning("app-1", 1, 101, "/d1");
  procs.rss[100] = 900 << 20;
  procs.rss[101] = int64_t{5000} << 20;
  table.EnforceMemoryLimits();
  CHECK(procs.signals.empty());
  procs.rss[100] = 1001 << 20;
  table.EnforceMemoryLimits();
  REQUIRE(procs.signals.size() == 1);
  CHECK(procs.signals[0] == std::pair<pid_t, int>{100, SIGKILL});
  table.EnforceMemoryLimits();  // killed once
  CHECK(procs.signals.size() == 1);
  procs.exited[100] = ExitInfo{.signal = SIGKILL, .signaled = true};
  std::vector<ExecutorExit> exits = table.Poll();
  REQUIRE(exits.size() == 1);
  CHECK_FALSE(exits[0].killed);  // the application's fault, not a stop the worker chose
  CHECK(exits[0].peak_rss == 1001 << 20);
  CHECK(exits[0].failure.find("executor 0 on host h0 exceeded its memory limit of 1000.0 MiB") !=
        std::string::npos);
  CHECK(exits[0].failure.find("RSS 1001.0 MiB") != std::string::npos);
  CHECK(exits[0].failure.find("--executor-memory") != std::string::npos);
}

}  // namespace
}  // namespace kiln::worker
