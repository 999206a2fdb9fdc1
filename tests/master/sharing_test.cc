// Several applications on one master: the FIFO queue, caps (kiln.cores.max and the
// master's kiln.deploy.defaultCores), and why a waiting application waits — in the
// master's snapshot (/json, the page) and in what its driver's heartbeat is told.

#include <random>

#include "master/allocator.h"
#include "master/master.h"
#include "tests/kiln_catch.h"
#include "tests/master/master_fixture.h"

namespace kiln::master {
namespace {

ApplicationStatus StatusOf(MasterFixture& c, const std::string& app) {
  ApplicationStatus status;
  REQUIRE(c.master->ApplicationHeartbeat(app, &status));
  return status;
}

TEST_CASE("sharing: a second application waits while the first holds every core, then runs") {
  MasterFixture c;
  c.AddWorker(1, 2, 4096);
  c.AddWorker(2, 2, 4096);
  const std::string first = c.AddApp(1, 1024, 0);
  const std::string second = c.AddApp(1, 1024, 0);
  CHECK(c.App(first).cores == 4);
  CHECK(c.App(first).waiting_reason.empty());
  AppView waiting = c.App(second);
  CHECK(waiting.state == "WAITING");
  CHECK(waiting.waiting_reason ==
        "needs 1 core per executor (kiln.executor.cores); the most free on a worker with 1.0 "
        "GiB free is 0");
  ApplicationStatus status = StatusOf(c, second);
  CHECK(status.granted_cores == 0);
  CHECK(status.waiting_reason == waiting.waiting_reason);
  CHECK(status.queued);  // the first holds the cores: they come back when it ends
  CHECK_FALSE(StatusOf(c, first).queued);

  c.commands.Take();
  REQUIRE(c.master->UnregisterApplication(first, "FINISHED").ok());
  CHECK(c.commands.With("launch").size() == 4);
  CHECK(c.App(second).cores == 4);
  CHECK(c.App(second).waiting_reason.empty());
  CHECK(StatusOf(c, second).waiting_reason.empty());
}

TEST_CASE("sharing: waiting applications are served first come, first served") {
  MasterFixture c;
  c.AddWorker(1, 2, 8192);
  const std::string holder = c.AddApp(2, 1024, 0);
  std::vector<std::string> queue;
  for (int i = 0; i < 4; ++i) queue.push_back(c.AddApp(2, 1024, 2));
  for (const std::string& app : queue) CHECK(c.App(app).state == "WAITING");
  // Each end frees one executor's worth: the oldest waiting application takes it.
  std::string previous = holder;
  for (const std::string& app : queue) {
    c.commands.Take();
    REQUIRE(c.master->UnregisterApplication(previous, "FINISHED").ok());
    CHECK(c.commands.With("launch " + Addr(1) + " " + app).size() == 1);
    CHECK(c.commands.With("launch").size() == 1);
    CHECK(c.App(app).cores == 2);
    previous = app;
  }
}

TEST_CASE("sharing: a later application that fits runs while an earlier one waits") {
  MasterFixture c;
  c.AddWorker(1, 4, 4096);
  const std::string holder = c.AddApp(1, 1024, 3);  // 1 core and 1 GiB left
  const std::string big = c.AddApp(2, 1024, 2);     // needs 2 cores on one worker
  CHECK(c.App(big).waiting_reason ==
        "needs 2 cores per executor (kiln.executor.cores); the most free on a worker with 1.0 "
        "GiB free is 1");
  const std::string small = c.AddApp(1, 1024, 1);
  CHECK(c.App(holder).cores == 3);
  CHECK(c.App(big).cores == 0);
  CHECK(c.App(small).cores == 1);  // as in Spark: a waiting app does not block the queue
}

TEST_CASE("sharing: the reason names memory when no worker has an executor's worth free") {
  MasterFixture c;
  c.AddWorker(1, 8, 4096);
  c.AddWorker(2, 8, 4096);
  const std::string holder = c.AddApp(1, 3072, 2);  // 3 GiB on each worker
  const std::string big = c.AddApp(1, 2048, 0);
  CHECK(c.App(holder).cores == 2);
  CHECK(c.App(big).waiting_reason ==
        "needs 2.0 GiB per executor (kiln.executor.memory); the most free on a worker is 1.0 GiB");
  CHECK(StatusOf(c, big).queued);
}

TEST_CASE("sharing: an application with no worker to go to waits, not queued") {
  MasterFixture c;
  const std::string app = c.AddApp(1, 1024, 0);
  ApplicationStatus status = StatusOf(c, app);
  CHECK(status.waiting_reason == "no worker is ALIVE");
  CHECK_FALSE(status.queued);  // nobody holds anything: waiting longer changes nothing
}

TEST_CASE("sharing: kiln.cores.max caps an application and two run side by side") {
  MasterFixture c;
  c.AddWorker(1, 2, 4096);
  c.AddWorker(2, 2, 4096);
  const std::string a = c.AddApp(1, 512, 2);
  const std::string b = c.AddApp(1, 512, 2);
  CHECK(c.App(a).cores == 2);
  CHECK(c.App(b).cores == 2);
  CHECK(c.App(a).max_cores == 2);
  CHECK(c.Worker(1).cores_used + c.Worker(2).cores_used == 4);
}

TEST_CASE("sharing: kiln.deploy.defaultCores caps applications that set no cap") {
  MasterFixture c(/*spread_out=*/true, /*retries=*/10, /*default_cores=*/2);
  c.AddWorker(1, 4, 8192);
  c.AddWorker(2, 4, 8192);
  const std::string uncapped = c.AddApp(1, 512, 0);
  CHECK(c.App(uncapped).cores == 2);
  const std::string capped = c.AddApp(1, 512, 5);  // its own cap wins over the default
  CHECK(c.App(capped).cores == 5);
  const std::string third = c.AddApp(0, 512, 0);  // one executor per worker, capped too
  CHECK(c.App(third).cores == 1);
  CHECK(c.Worker(1).cores_used + c.Worker(2).cores_used == 8);
}

TEST_CASE("sharing: a cap below one executor's cores is refused, naming both settings") {
  MasterFixture c(/*spread_out=*/true, /*retries=*/10, /*default_cores=*/2);
  c.AddWorker(1, 8, 8192);
  auto own = c.master->RegisterApplication(MasterFixture::Request(4, 512, 3));
  REQUIRE(absl::IsFailedPrecondition(own.status()));
  CHECK(own.status().message() ==
        "kiln.cores.max (3) is below kiln.executor.cores (4): no executor could ever start");
  auto by_default = c.master->RegisterApplication(MasterFixture::Request(4, 512, 0));
  REQUIRE(absl::IsFailedPrecondition(by_default.status()));
  CHECK(by_default.status().message() ==
        "the master's kiln.deploy.defaultCores (2, the cap of applications without "
        "kiln.cores.max) is below kiln.executor.cores (4): no executor could ever start");
  CHECK(c.master->RegisterApplication(MasterFixture::Request(4, 512, 4))
            .ok());  // its own cap is enough
  CHECK(c.master->Snapshot().active_apps.size() == 1);
}

TEST_CASE("sharing: WhyNothingPlaced is empty exactly when PlaceExecutors places something") {
  std::mt19937_64 rng(7);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  for (int round = 0; round < 20000; ++round) {
    ExecutorDemand demand{.cores_per_executor = pick(4),
                          .memory_per_executor_mb = 256 * (1 + pick(8)),
                          .cores_wanted = pick(3) == 0 ? pick(6) : 1 << 30,
                          .max_executors = pick(8) == 0 ? 0 : 100};
    std::vector<WorkerCapacity> workers;
    for (int i = pick(4); i > 0; --i) {
      workers.push_back({.worker_id = StrCat("w", i),
                         .cores_free = pick(5),
                         .memory_free_mb = 256 * pick(10),
                         .hosts_app_executor = pick(3) == 0});
    }
    const std::string why = WhyNothingPlaced(demand, workers);
    for (bool spread : {true, false}) {
      INFO("round " << round << " why: " << why);
      CHECK(why.empty() == !PlaceExecutors(demand, workers, spread).empty());
    }
  }
}

TEST_CASE("sharing: a dynamic application holds what its driver asks for, and gives back") {
  MasterFixture c;
  c.AddWorker(1, 2, 4096);
  c.AddWorker(2, 2, 4096);
  ApplicationRequest r = MasterFixture::Request(1, 512, 0);
  r.executor_limit = 0;  // dynamic allocation, no initial executors
  auto app = c.master->RegisterApplication(r);
  REQUIRE(app.ok());
  CHECK(c.App(app->id).executors.empty());
  CHECK(c.App(app->id).waiting_reason == "its driver asks for 0 executors (dynamic allocation)");
  ApplicationStatus status;
  REQUIRE(c.master->ApplicationHeartbeat(app->id, &status));
  CHECK_FALSE(status.queued);

  REQUIRE(c.master->RequestExecutors(app->id, 3).ok());
  AppView a = c.App(app->id);
  CHECK(a.executors.size() == 3);
  CHECK(a.executor_limit == 3);
  CHECK(a.waiting_reason.empty());
  REQUIRE(c.master->RequestExecutors(app->id, 10).ok());
  CHECK(c.App(app->id).executors.size() == 4);  // all that fit

  // A second application waits for the cores; a release gives them to it at once.
  const std::string other = c.AddApp(1, 512, 1);
  CHECK(c.App(other).executors.empty());
  c.commands.Take();
  REQUIRE(c.master->RequestExecutors(app->id, 3).ok());  // a lower limit stops nothing
  CHECK(c.App(app->id).executors.size() == 4);
  const int released = c.App(app->id).executors.front().id;
  REQUIRE(c.master->KillExecutors(app->id, {released, 999}).ok());
  CHECK(c.commands.With("kill").size() == 1);
  CHECK(c.App(app->id).executors.size() == 3);
  CHECK(c.App(other).executors.size() == 1);
  CHECK(c.Worker(1).cores_used + c.Worker(2).cores_used == 4);

  CHECK(absl::IsInvalidArgument(c.master->RequestExecutors(app->id, -1)));
  CHECK(absl::IsNotFound(c.master->RequestExecutors("app-none", 1)));
  CHECK(absl::IsNotFound(c.master->KillExecutors("app-none", {0})));
}

}  // namespace
}  // namespace kiln::master
