// The Master's logic without a network: fake worker commands, a fake clock, no sleeps.

#include "master/master.h"

#include <regex>

#include "common/clock.h"
#include "common/executor_command.h"
#include "master/liveness_sweeper.h"
#include "tests/kiln_catch.h"
#include "tests/master/fake_worker_commands.h"
#include "tests/master/master_fixture.h"

namespace kiln::master {
namespace {

using std::chrono::seconds;

TEST_CASE("master: registering an application launches executors spread over workers") {
  MasterFixture c;
  c.AddWorker(1, 4, 4096);
  c.AddWorker(2, 4, 4096);
  std::string app = c.AddApp(1, 1024, 4);
  CHECK(std::regex_match(app, std::regex(R"(app-\d{14}-0000)")));
  CHECK(c.last_granted_cores == 4);
  auto launches = c.commands.With("launch");
  REQUIRE(launches.size() == 4);
  CHECK(c.commands.With("launch " + Addr(1)).size() == 2);
  CHECK(c.commands.With("launch " + Addr(2)).size() == 2);
  for (const ExecutorLaunch& l : c.commands.launches()) {
    CHECK(l.app_id == app);
    CHECK(l.driver_address == "10.0.0.9:4000");
    CHECK(l.binary_digest == "abc123");
  }
  CHECK(c.Worker(1).cores_used == 2);
  CHECK(c.Worker(1).memory_used_mb == 2048);
  AppView a = c.App(app);
  CHECK(a.state == "RUNNING");
  CHECK(a.cores == 4);
  std::vector<int> ids;
  for (const auto& e : a.executors) ids.push_back(e.id);
  CHECK(ids == std::vector<int>{0, 1, 2, 3});
  CHECK(c.AddApp(1, 1024, 1) == app.substr(0, app.size() - 4) + "0001");
}

TEST_CASE("master: consolidation and scheduling when a worker arrives later") {
  MasterFixture c(/*spread_out=*/false);
  std::string app = c.AddApp(1, 512, 3);
  CHECK(c.last_granted_cores == 0);
  CHECK(c.App(app).state == "WAITING");
  CHECK(c.commands.Take().empty());
  c.AddWorker(1, 2, 4096);
  CHECK(c.commands.With("launch " + Addr(1)).size() == 2);
  c.AddWorker(2, 8, 4096);
  CHECK(c.commands.With("launch " + Addr(2)).size() == 1);
  CHECK(c.App(app).cores == 3);
}

TEST_CASE("master: applications are served in registration order") {
  MasterFixture c;
  c.AddWorker(1, 4, 8192);
  std::string first = c.AddApp(0, 1024, 0);  // takes the whole worker
  std::string second = c.AddApp(1, 1024, 0);
  CHECK(c.App(first).cores == 4);
  CHECK(c.App(second).state == "WAITING");
  c.commands.Take();
  REQUIRE(c.master->UnregisterApplication(first, "FINISHED").ok());
  CHECK(c.commands.With("finished " + Addr(1) + " " + first).size() == 1);
  CHECK(c.commands.With("launch " + Addr(1) + " " + second).size() == 4);
  CHECK(c.App(second).cores == 4);
}

TEST_CASE("master: a silent worker becomes DEAD, leaves the pool, executors move") {
  MasterFixture c;
  c.AddWorker(1, 4, 4096);
  c.AddWorker(2, 4, 4096);
  std::string app = c.AddApp(1, 512, 4);
  CHECK(c.Worker(1).cores_used == 2);
  c.commands.Take();

  c.clock.Advance(seconds(30));
  CHECK_FALSE(c.master->WorkerHeartbeat("w2"));
  REQUIRE(c.master->ApplicationHeartbeat(app));
  c.clock.Advance(seconds(31));  // w1 silent 61s, w2 31s
  c.sweeper->SweepOnce();

  CHECK(c.Worker(1).state == "DEAD");
  CHECK(c.Worker(1).cores_used == 0);
  CHECK(c.Worker(2).state == "ALIVE");
  ClusterView v = c.master->Snapshot();
  CHECK(v.cores == 4);  // only ALIVE workers count
  CHECK(v.memory_mb == 4096);
  CHECK(v.cores_used == 4);
  // The two lost executors are replaced on w2, with new ids.
  CHECK(c.commands.With("launch " + Addr(2)) ==
        std::vector<std::string>{"launch " + Addr(2) + " " + app + " 4 cores=1 mem=512",
                                 "launch " + Addr(2) + " " + app + " 5 cores=1 mem=512"});
  CHECK(c.commands.With("launch " + Addr(1)).empty());
  for (const auto& e : c.App(app).executors) CHECK(e.worker_id == "w2");

  // A DEAD worker's heartbeat asks it to register again; so does an unknown id.
  CHECK(c.master->WorkerHeartbeat("w1"));
  CHECK(c.master->WorkerHeartbeat("nobody"));
  c.AddWorker(1, 4, 4096);
  CHECK_FALSE(c.master->WorkerHeartbeat("w1"));
  CHECK(c.Worker(1).state == "ALIVE");
}

TEST_CASE("master: ending an application frees resources and tells its workers") {
  MasterFixture c(/*spread_out=*/false);
  c.AddWorker(1, 2, 4096);
  c.AddWorker(2, 2, 4096);
  c.AddWorker(3, 2, 4096);
  std::string app = c.AddApp(1, 1024, 4);  // on two workers only
  std::string other = c.AddApp(1, 1024, 1);
  std::set<std::string> app_workers;
  for (const auto& e : c.App(app).executors) app_workers.insert(e.worker_id);
  REQUIRE(app_workers.size() == 2);
  c.commands.Take();

  REQUIRE(c.master->UnregisterApplication(app, "KILLED").ok());
  std::vector<std::string> expected;
  for (const auto& w : app_workers) {
    expected.push_back("failed " + Addr(w[1] - '0') + " " + app);
  }
  CHECK(c.commands.With("failed") == expected);
  ClusterView v = c.master->Snapshot();
  CHECK(v.cores_used == 1);  // only `other` remains
  CHECK(v.memory_used_mb == 1024);
  REQUIRE(v.completed_apps.size() == 1);
  CHECK(v.completed_apps[0].id == app);
  CHECK(v.completed_apps[0].state == "KILLED");
  CHECK(v.active_apps.size() == 1);
  CHECK_FALSE(c.master->ApplicationHeartbeat(app));
  CHECK(c.master->ApplicationHeartbeat(other));

  // Idempotent for an ended app; errors for an unknown one or a bad state.
  CHECK(c.master->UnregisterApplication(app, "FINISHED").ok());
  CHECK(c.master->UnregisterApplication("app-x", "FINISHED").code() == absl::StatusCode::kNotFound);
  absl::Status bad = c.master->UnregisterApplication(other, "DONE");
  CHECK(bad.code() == absl::StatusCode::kInvalidArgument);
  CHECK(View(bad.message()).find("final_state") != std::string_view::npos);
}

TEST_CASE("master: an executor killed by its worker frees resources and is replaced") {
  MasterFixture c;
  c.AddWorker(1, 2, 4096);
  std::string app = c.AddApp(2, 1024, 2);
  c.commands.Take();
  c.ReportExecutor(1, app, 0, ExecutorEvent::kRunning);
  c.ReportExecutor(1, app, 0, ExecutorEvent::kKilled);
  CHECK(c.commands.With("launch") ==
        std::vector<std::string>{"launch " + Addr(1) + " " + app + " 1 cores=2 mem=1024"});
  CHECK(c.Worker(1).cores_used == 2);
  // Reports about unknown apps or executors, or from the wrong worker, are ignored.
  c.ReportExecutor(1, "app-unknown", 0, ExecutorEvent::kFailed);
  c.ReportExecutor(1, app, 77, ExecutorEvent::kFailed);
  c.ReportExecutor(2, app, 1, ExecutorEvent::kFailed);
  CHECK(c.Worker(1).cores_used == 2);
  CHECK(c.App(app).executors.size() == 1);
}

TEST_CASE("master: a clean executor exit (its driver is ending) frees it and is not replaced") {
  MasterFixture c;
  c.AddWorker(1, 4, 4096);
  std::string app = c.AddApp(2, 1024, 4);
  c.commands.Take();
  c.ReportExecutor(1, app, 0, ExecutorEvent::kRunning);
  c.ReportExecutor(1, app, 1, ExecutorEvent::kRunning);
  c.ReportExecutor(1, app, 0, ExecutorEvent::kExited);
  CHECK(c.commands.With("launch").empty());
  CHECK(c.Worker(1).cores_used == 2);
  c.ReportExecutor(1, app, 1, ExecutorEvent::kExited);
  CHECK(c.commands.With("launch").empty());
  CHECK(c.Worker(1).cores_used == 0);
  CHECK(c.App(app).state == "RUNNING");  // until its driver unregisters
  CHECK(c.App(app).waiting_reason == "no more launches: its driver is shutting its executors down");
}

TEST_CASE("master: a worker that unregisters is DEAD at once and its executors move") {
  MasterFixture c;
  c.AddWorker(1, 2, 4096);
  c.AddWorker(2, 2, 4096);
  std::string app = c.AddApp(1, 512, 2);
  REQUIRE(c.Worker(1).cores_used == 1);
  c.commands.Take();
  c.master->UnregisterWorker("w1", "its process was stopped by signal 15 (SIGTERM)");
  CHECK(c.Worker(1).state == "DEAD");
  CHECK(c.Worker(1).cores_used == 0);
  CHECK(c.commands.With("launch " + Addr(1)).empty());
  CHECK(c.commands.With("launch " + Addr(2)).size() == 1);  // the lost core, again
  CHECK(c.Worker(2).cores_used == 2);
  c.master->UnregisterWorker("w1", "again");  // idempotent
  c.master->UnregisterWorker("nobody", "unknown");
  CHECK(c.App(app).state == "RUNNING");
  CHECK(c.master->EndReason(app).empty());
}

TEST_CASE("master: a registration retried after a lost reply gets the same application") {
  MasterFixture c;
  c.AddWorker(1, 4, 4096);
  ApplicationRequest r;
  r.name = "retried";
  r.cores_per_executor = 2;
  r.memory_per_executor_mb = 512;
  r.driver_address = "10.0.0.9:4000";
  r.binary_digest = "abc123";
  r.request_id = "driver-host-123-1";
  auto first = c.master->RegisterApplication(r);
  auto retry = c.master->RegisterApplication(r);
  REQUIRE(first.ok());
  REQUIRE(retry.ok());
  CHECK(retry->id == first->id);
  CHECK(c.master->Snapshot().active_apps.size() == 1);
  CHECK(c.Worker(1).cores_used == 4);  // granted once
  r.request_id = "driver-host-124-1";  // another driver: another application
  auto other = c.master->RegisterApplication(r);
  REQUIRE(other.ok());
  CHECK(other->id != first->id);
}

TEST_CASE("master: an application whose driver is silent ends as FAILED") {
  MasterFixture c;
  c.AddWorker(1, 4, 4096);
  std::string quiet = c.AddApp(1, 512, 2);
  std::string chatty = c.AddApp(1, 512, 2);
  c.commands.Take();
  for (int i = 0; i < 5; ++i) {
    c.clock.Advance(seconds(30));
    CHECK_FALSE(c.master->WorkerHeartbeat("w1"));
    CHECK(c.master->ApplicationHeartbeat(chatty));
    c.sweeper->SweepOnce();
  }
  CHECK(c.App(quiet).state == "FAILED");
  CHECK(c.App(chatty).state == "RUNNING");
  CHECK(c.commands.Take() == std::vector<std::string>{"failed " + Addr(1) + " " + quiet});
  CHECK(c.Worker(1).cores_used == 2);
}

TEST_CASE("master: re-registration keeps executors the worker still runs") {
  MasterFixture c;
  c.AddWorker(1, 4, 4096);
  std::string app = c.AddApp(1, 512, 2);  // executors 0 and 1 on w1
  c.commands.Take();
  // The worker restarted its connection: it still runs executor 0 and an unknown one of
  // `app`, and one of an application that ended here.
  const std::string ended = c.AddApp(1, 512, 1);
  REQUIRE(c.master->UnregisterApplication(ended, "FAILED").ok());
  c.commands.Take();
  c.AddWorker(1, 4, 4096, {{app, 0, 1, 512}, {app, 9, 1, 512}, {ended, 3, 1, 512}});
  auto calls = c.commands.Take();
  std::sort(calls.begin(), calls.end());
  CHECK(calls == std::vector<std::string>{
                     "failed " + Addr(1) + " " + ended,
                     "kill " + Addr(1) + " " + app + " 9",
                     "launch " + Addr(1) + " " + app + " 2 cores=1 mem=512",
                 });
  CHECK(c.Worker(1).cores_used == 2);
  std::vector<int> ids;
  for (const auto& e : c.App(app).executors) ids.push_back(e.id);
  CHECK(ids == std::vector<int>{0, 2});
}

TEST_CASE("master: a worker that registers is told which of its application dirs ended") {
  MasterFixture c;
  c.AddWorker(1, 4, 4096);
  const std::string killed = c.AddApp(1, 512, 1);
  REQUIRE(c.master->UnregisterApplication(killed, "KILLED").ok());
  const std::string finished = c.AddApp(1, 512, 1);
  REQUIRE(c.master->UnregisterApplication(finished, "FINISHED").ok());
  const std::string running = c.AddApp(1, 512, 1);
  c.commands.Take();
  // A worker restarted over the work dir of an earlier run: the ended applications'
  // dirs go (keeping the logs of the one that did not finish); the running one's and an
  // unknown one's stay.
  c.AddWorker(2, 4, 4096, {}, {killed, finished, running, "app-20260101000000-0042"});
  CHECK(c.commands.With("failed ") == std::vector<std::string>{"failed " + Addr(2) + " " + killed});
  CHECK(c.commands.With("finished ") ==
        std::vector<std::string>{"finished " + Addr(2) + " " + finished});
  // The running one's dir goes when it ends, though it has no executor there.
  c.commands.Take();
  REQUIRE(c.master->UnregisterApplication(running, "FINISHED").ok());
  CHECK(c.commands.With("finished " + Addr(2)) ==
        std::vector<std::string>{"finished " + Addr(2) + " " + running});
}

TEST_CASE("master: a new worker id at a live worker's address replaces it") {
  MasterFixture c;
  c.AddWorker(1, 4, 4096);
  std::string app = c.AddApp(1, 512, 1);
  WorkerRegistration r;
  r.id = "w1-restarted";
  r.host = "10.0.0.1";
  r.port = 1001;
  r.cores = 4;
  r.memory_mb = 4096;
  REQUIRE(c.master->RegisterWorker(r).ok());
  CHECK(c.Worker(1).state == "DEAD");
  ClusterView v = c.master->Snapshot();
  CHECK(v.cores == 4);
  REQUIRE(c.App(app).executors.size() == 1);
  CHECK(c.App(app).executors[0].worker_id == "w1-restarted");
}

TEST_CASE("master: a new worker id cannot take the address of a worker that still answers there") {
  MasterFixture c;
  WorkerRegistration real;
  real.id = "w-real";
  real.host = "10.0.0.1";
  real.port = 1001;
  real.cores = 4;
  real.memory_mb = 4096;
  real.token = "token-of-w-real";
  REQUIRE(c.master->RegisterWorker(real).ok());
  c.commands.WorkerAnswersAt("10.0.0.1:1001", "token-of-w-real");
  WorkerRegistration impostor = real;
  impostor.id = "w-impostor";
  impostor.token = "another";
  absl::Status refused = c.master->RegisterWorker(impostor);
  CHECK(absl::IsAlreadyExists(refused));
  CHECK_THAT(std::string(refused.message()), Catch::Contains("10.0.0.1:1001"));
  ClusterView v = c.master->Snapshot();
  REQUIRE(v.workers.size() == 1);
  CHECK(v.workers[0].id == "w-real");
  CHECK(v.workers[0].state == "ALIVE");
  // Once the real worker no longer answers there (it died; a new one took the port),
  // the registration replaces it.
  c.commands.WorkerAnswersAt("10.0.0.1:1001", "token-of-a-new-process");
  REQUIRE(c.master->RegisterWorker(impostor).ok());
  CHECK(c.master->Snapshot().workers.size() == 2);
}

TEST_CASE("master: ids, hosts and names with control characters are refused") {
  MasterFixture c;
  WorkerRegistration w;
  w.id = "w1\n2026-12-03 12:00:00.000 I master[1:1] worker registered worker=forged";
  w.host = "10.0.0.1";
  w.port = 1001;
  w.cores = 1;
  w.memory_mb = 1024;
  absl::Status id = c.master->RegisterWorker(w);
  CHECK(absl::IsInvalidArgument(id));
  CHECK_THAT(std::string(id.message()), Catch::Contains("worker_id contains a control character"));
  w.id = "w1";
  w.host = "10.0.0.1\r";
  CHECK(absl::IsInvalidArgument(c.master->RegisterWorker(w)));
  ApplicationRequest app;
  app.memory_per_executor_mb = 512;
  app.binary_digest = "d";
  app.driver_address = "10.0.0.9:4000";
  app.name = "job\nkiln.executor.memory=1t";
  auto refused = c.master->RegisterApplication(app);
  CHECK(absl::IsInvalidArgument(refused.status()));
  CHECK_THAT(std::string(refused.status().message()),
             Catch::Contains("name contains a control character (byte 10)"));
  CHECK(c.master->Snapshot().workers.empty());
}

TEST_CASE(
    "master: a request no worker could ever hold is refused, naming what the largest offers") {
  MasterFixture c;
  ApplicationRequest r;
  r.binary_digest = "abc123";
  r.driver_address = "10.0.0.9:4000";
  r.memory_per_executor_mb = 8192;
  // No worker yet: it waits (workers may join).
  auto waiting = c.master->RegisterApplication(r);
  REQUIRE(waiting.ok());
  CHECK(c.App(waiting->id).state == "WAITING");
  REQUIRE(c.master->UnregisterApplication(waiting->id, "KILLED").ok());

  c.AddWorker(1, 4, 4096);
  c.AddWorker(2, 2, 6144);
  absl::StatusOr<RegisteredApplication> memory = c.master->RegisterApplication(r);
  CHECK(absl::IsFailedPrecondition(memory.status()));
  CHECK_THAT(std::string(memory.status().message()),
             Catch::Contains("8.0 GiB asked (kiln.executor.memory)") &&
                 Catch::Contains("the most memory any worker offers is 6.0 GiB"));
  r.memory_per_executor_mb = 1024;
  r.cores_per_executor = 5;
  absl::StatusOr<RegisteredApplication> cores = c.master->RegisterApplication(r);
  CHECK(absl::IsFailedPrecondition(cores.status()));
  CHECK_THAT(std::string(cores.status().message()),
             Catch::Contains("5 cores asked (kiln.executor.cores)") &&
                 Catch::Contains("the most cores any worker has is 4"));
  CHECK(c.master->Snapshot().active_apps.empty());
  // What fits the largest worker is accepted, even when it does not fit now.
  r.cores_per_executor = 4;
  r.memory_per_executor_mb = 4096;
  CHECK(c.master->RegisterApplication(r).ok());
}

TEST_CASE("master: bad requests are refused naming the field") {
  MasterFixture c;
  auto field_of = [&](ApplicationRequest r) {
    auto app = c.master->RegisterApplication(r);
    REQUIRE_FALSE(app.ok());
    CHECK(app.status().code() == absl::StatusCode::kInvalidArgument);
    return std::string(View(app.status().message()));
  };
  ApplicationRequest good;
  good.memory_per_executor_mb = 512;
  good.binary_digest = "d";
  good.driver_address = "h:1";
  auto r = good;
  r.memory_per_executor_mb = 0;
  CHECK_THAT(field_of(r), Catch::Contains("memory_per_executor_mb"));
  r = good;
  r.cores_per_executor = -1;
  CHECK_THAT(field_of(r), Catch::Contains("cores_per_executor"));
  r = good;
  r.max_cores = -2;
  CHECK_THAT(field_of(r), Catch::Contains("max_cores"));
  r = good;
  r.binary_digest = "";
  CHECK_THAT(field_of(r), Catch::Contains("binary_digest"));
  r = good;
  r.driver_address = "";
  CHECK_THAT(field_of(r), Catch::Contains("driver_address"));
  r = good;
  r.ui_url = "javascript:alert(1)";  // shown as a link: only http(s) URLs
  CHECK(field_of(r) == "RegisterApplication: ui_url is not an http:// or https:// URL");
  r = good;
  r.ui_url = "http://h:4040/\n";
  CHECK_THAT(field_of(r), Catch::Contains("ui_url"));
  r = good;
  r.ui_url = "http://h:4040";
  CHECK(c.master->RegisterApplication(r).ok());
  CHECK(c.master->RegisterApplication(good).ok());

  WorkerRegistration w;
  w.id = "w";
  w.host = "h";
  w.port = 1;
  w.cores = 0;
  w.memory_mb = 10;
  absl::Status s = c.master->RegisterWorker(w);
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(View(s.message())), Catch::Contains("cores"));
}

TEST_CASE("master: absurd resources and oversized ids are refused, not echoed") {
  MasterFixture c;
  WorkerRegistration good;
  good.id = "w";
  good.host = "h";
  good.port = 1;
  good.cores = Master::kMaxWorkerCores;
  good.memory_mb = Master::kMaxWorkerMemoryMb;
  const std::string huge(Master::kMaxIdBytes + 1, 'x');
  auto refused = [&](WorkerRegistration r, std::string_view field) {
    absl::Status s = c.master->RegisterWorker(r);
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    const std::string message(View(s.message()));
    CHECK_THAT(message, Catch::Contains(std::string(field)));
    CHECK(message.find(huge) == std::string::npos);
  };
  auto r = good;
  r.cores = Master::kMaxWorkerCores + 1;
  refused(r, "cores");
  r = good;
  r.cores = std::numeric_limits<int>::max();
  refused(r, "cores");
  r = good;
  r.memory_mb = Master::kMaxWorkerMemoryMb + 1;
  refused(r, "memory_mb");
  r = good;
  r.id = huge;
  refused(r, "worker_id");
  r = good;
  r.host = huge;
  refused(r, "host");
  CHECK(c.master->Snapshot().workers.empty());
  REQUIRE(c.master->RegisterWorker(good).ok());  // the largest worker allowed
  CHECK(c.master->Snapshot().cores == Master::kMaxWorkerCores);

  ApplicationRequest app;
  app.memory_per_executor_mb = 512;
  app.binary_digest = "d";
  app.driver_address = huge;
  CHECK(c.master->RegisterApplication(app).status().code() == absl::StatusCode::kInvalidArgument);
  app.driver_address = "h:1";
  app.name = std::string(Master::kMaxNameBytes + 1, 'n');
  CHECK(c.master->RegisterApplication(app).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("master: completed applications are bounded") {
  MasterFixture c;
  std::string first = c.AddApp(1, 512, 0);
  REQUIRE(c.master->UnregisterApplication(first, "").ok());
  for (int i = 0; i < 120; ++i) {
    REQUIRE(c.master->UnregisterApplication(c.AddApp(1, 512, 0), "FINISHED").ok());
  }
  ClusterView v = c.master->Snapshot();
  CHECK(v.completed_apps.size() == ApplicationRegistry::kMaxCompleted);
  CHECK(v.completed_apps.front().id != first);
  CHECK(v.active_apps.empty());
}

TEST_CASE("master: a completed application links kiln-history when kiln.history.url is set") {
  MasterFixture c(true, 10, 0, nullptr, "http://history:18080");
  c.AddWorker(1, 2, 4096);
  const std::string app = c.AddApp(1, 1024, 1);
  REQUIRE(c.master->UnregisterApplication(app, "FINISHED").ok());
  const ClusterView v = c.master->Snapshot();
  REQUIRE(v.completed_apps.size() == 1);
  CHECK(v.completed_apps[0].ui_url == "http://history:18080/history/" + app + "/jobs");
  MasterFixture none;
  none.AddWorker(1, 2, 4096);
  const std::string other = none.AddApp(1, 1024, 1);
  REQUIRE(none.master->UnregisterApplication(other, "FINISHED").ok());
  CHECK(none.master->Snapshot().completed_apps[0].ui_url.empty());
}

}  // namespace
}  // namespace kiln::master
