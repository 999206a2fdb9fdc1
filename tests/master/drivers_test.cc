// The master's drivers (cluster deploy mode): placement, the resources they hold, the
// states workers report, supervision with backoff, kill, lost and re-registering
// workers, and the recovery store. Fake clock, fake worker commands.

#include "common/files.h"
#include "master/master.h"
#include "master/recovery_store.h"
#include "tests/kiln_catch.h"
#include "tests/master/master_fixture.h"

namespace kiln::master {
namespace {

const std::string kDigest(64, 'a');

DriverRequest DriverReq(int cores = 1, int64_t memory_mb = 1024, bool supervise = false,
                        int max_relaunches = 3) {
  DriverRequest r;
  r.name = "wordcount";
  r.binary_digest = kDigest;
  r.binary_size = 100;
  r.args = {"in.txt", "out"};
  r.conf = "kiln.master=kiln://10.0.0.1:7077\n";
  r.cores = cores;
  r.memory_mb = memory_mb;
  r.supervise = supervise;
  r.max_relaunches = max_relaunches;
  return r;
}

std::string SubmitOk(MasterFixture& c, const DriverRequest& r) {
  absl::StatusOr<std::string> id = c.master->SubmitDriver(r);
  REQUIRE(id.ok());
  return *id;
}

void ReportDriver(MasterFixture& c, int worker, const std::string& id, int attempt,
                  DriverState state, int exit_code = 0, const std::string& message = "") {
  REQUIRE(c.master
              ->DriverStateChanged({.worker_id = StrCat("w", worker),
                                    .driver_id = id,
                                    .attempt = attempt,
                                    .state = state,
                                    .message = message,
                                    .exit_code = exit_code})
              .ok());
}

DriverView DriverOf(MasterFixture& c, const std::string& id) {
  absl::StatusOr<DriverView> v = c.master->DriverStatus(id);
  REQUIRE(v.ok());
  return *v;
}

TEST_CASE("drivers: a driver goes to the worker with the most free cores and holds its share",
          "[master][drivers]") {
  MasterFixture c;
  c.AddWorker(1, 2, 4096);
  c.AddWorker(2, 4, 4096);
  const std::string id = SubmitOk(c, DriverReq(2, 1024));
  CHECK(id.starts_with("driver-"));
  CHECK(c.commands.With("launch-driver") ==
        std::vector<std::string>{
            StrCat("launch-driver ", Addr(2), " ", id, " attempt=0 cores=2 mem=1024")});
  DriverView v = DriverOf(c, id);
  CHECK(v.state == "RUNNING");
  CHECK(v.worker_id == "w2");
  CHECK(v.worker_address == Addr(2));
  CHECK(c.Worker(2).cores_used == 2);
  CHECK(c.Worker(2).memory_used_mb == 1024);
  CHECK(c.master->MayFetchDriverBinary("w2", kDigest));
  CHECK_FALSE(c.master->MayFetchDriverBinary("w1", kDigest));
  CHECK_FALSE(c.master->MayFetchDriverBinary("w2", std::string(64, 'b')));

  // Executors get what is left: 2 cores on each worker.
  const std::string app = c.AddApp(1, 512, 0);
  CHECK(c.App(app).cores == 4);

  ReportDriver(c, 2, id, 0, DriverState::kRunning);
  ReportDriver(c, 2, id, 0, DriverState::kFinished);
  v = DriverOf(c, id);
  CHECK(v.state == "FINISHED");
  CHECK(v.exited);
  CHECK(c.App(app).cores == 6);  // the cores the driver held went to the application
  CHECK_FALSE(c.master->MayFetchDriverBinary("w2", kDigest));
  ClusterView view = c.master->Snapshot();
  CHECK(view.active_drivers.empty());
  REQUIRE(view.completed_drivers.size() == 1);
  CHECK(view.completed_drivers[0].id == id);
}

TEST_CASE("drivers: a driver waits for room, and one no worker could hold is refused",
          "[master][drivers]") {
  MasterFixture c;
  c.AddWorker(1, 2, 2048);
  const std::string app = c.AddApp(2, 1024, 0);  // holds both cores
  const std::string id = SubmitOk(c, DriverReq(1, 512));
  CHECK(DriverOf(c, id).state == "SUBMITTED");
  CHECK(c.commands.With("launch-driver").empty());
  REQUIRE(c.master->UnregisterApplication(app, "FINISHED").ok());
  CHECK(DriverOf(c, id).state == "RUNNING");

  absl::StatusOr<std::string> big = c.master->SubmitDriver(DriverReq(3, 512));
  CHECK(absl::IsFailedPrecondition(big.status()));
  CHECK_THAT(
      std::string(big.status().message()),
      Catch::Contains("kiln.driver.cores") && Catch::Contains("most cores any worker has is 2"));
  absl::StatusOr<std::string> fat = c.master->SubmitDriver(DriverReq(1, 4096));
  CHECK_THAT(std::string(fat.status().message()), Catch::Contains("kiln.driver.memory"));
  DriverRequest bad = DriverReq();
  bad.cores = 0;
  CHECK_THAT(std::string(c.master->SubmitDriver(bad).status().message()),
             Catch::Contains("SubmitDriver: cores"));
  CHECK(absl::IsNotFound(c.master->DriverStatus("driver-nope").status()));
}

TEST_CASE("drivers: a retried submission gets the same driver", "[master][drivers]") {
  MasterFixture c;
  c.AddWorker(1, 4, 4096);
  DriverRequest r = DriverReq();
  r.request_id = "submit-1";
  const std::string first = SubmitOk(c, r);
  CHECK(SubmitOk(c, r) == first);
  CHECK(c.master->Snapshot().active_drivers.size() == 1);
}

TEST_CASE(
    "drivers: a supervised driver that fails is relaunched after a doubling backoff, "
    "until its relaunches are spent",
    "[master][drivers]") {
  MasterFixture c;
  c.AddWorker(1, 4, 4096);
  const std::string id = SubmitOk(c, DriverReq(1, 1024, /*supervise=*/true, /*max=*/2));
  c.commands.Take();
  ReportDriver(c, 1, id, 0, DriverState::kFailed, -9, "killed by signal 9 (SIGKILL)");
  DriverView v = DriverOf(c, id);
  CHECK(v.state == "RELAUNCHING");
  CHECK(v.relaunches == 1);
  CHECK_THAT(v.message, Catch::Contains("SIGKILL") && Catch::Contains("relaunch 1 of 2"));
  CHECK(c.Worker(1).cores_used == 0);

  c.clock.Advance(std::chrono::milliseconds(900));
  c.master->ResumeLaunches(c.clock.Now());
  CHECK(c.commands.With("launch-driver").empty());  // 1 s backoff not over
  c.clock.Advance(std::chrono::milliseconds(100));
  c.master->ResumeLaunches(c.clock.Now());
  CHECK(c.commands.Take() == std::vector<std::string>{StrCat("launch-driver ", Addr(1), " ", id,
                                                             " attempt=1 cores=1 mem=1024")});
  ReportDriver(c, 1, id, 0, DriverState::kFinished);  // of the first run: ignored
  CHECK(DriverOf(c, id).state == "RUNNING");

  ReportDriver(c, 1, id, 1, DriverState::kFailed, 3, "exited with code 3");
  c.clock.Advance(std::chrono::milliseconds(1999));
  c.master->ResumeLaunches(c.clock.Now());
  CHECK(c.commands.With("launch-driver").empty());  // the second waits 2 s
  c.clock.Advance(std::chrono::milliseconds(1));
  c.master->ResumeLaunches(c.clock.Now());
  CHECK(c.commands.Take().size() == 1);

  ReportDriver(c, 1, id, 2, DriverState::kFailed, 3, "exited with code 3");
  v = DriverOf(c, id);
  CHECK(v.state == "FAILED");
  CHECK(v.exit_code == 3);
  CHECK_THAT(v.message, Catch::Contains("2 relaunch(es) spent"));
}

TEST_CASE("drivers: an unsupervised driver that fails ends FAILED", "[master][drivers]") {
  MasterFixture c;
  c.AddWorker(1, 4, 4096);
  const std::string id = SubmitOk(c, DriverReq());
  ReportDriver(c, 1, id, 0, DriverState::kFailed, 1, "exited with code 1");
  CHECK(DriverOf(c, id).state == "FAILED");
  CHECK(c.Worker(1).cores_used == 0);
}

TEST_CASE("drivers: a killed driver is stopped on its worker and never relaunched",
          "[master][drivers]") {
  MasterFixture c;
  c.AddWorker(1, 4, 4096);
  const std::string id = SubmitOk(c, DriverReq(1, 1024, /*supervise=*/true));
  c.commands.Take();
  absl::StatusOr<DriverState> killed = c.master->KillDriver(id);
  REQUIRE(killed.ok());
  CHECK(*killed == DriverState::kKilled);
  CHECK(c.commands.Take() == std::vector<std::string>{StrCat("kill-driver ", Addr(1), " ", id)});
  CHECK(DriverOf(c, id).state == "KILLED");
  CHECK(c.Worker(1).cores_used == 0);
  // Its process then dies of the SIGTERM: old news.
  ReportDriver(c, 1, id, 0, DriverState::kFailed, -15);
  c.clock.Advance(std::chrono::seconds(5));
  c.master->ResumeLaunches(c.clock.Now());
  CHECK(c.commands.Take().empty());
  CHECK(DriverOf(c, id).state == "KILLED");
  // Killing it again says how it ended.
  absl::StatusOr<DriverState> again = c.master->KillDriver(id);
  CHECK(absl::IsFailedPrecondition(again.status()));
  CHECK_THAT(std::string(again.status().message()), Catch::Contains("had already ended KILLED"));
  CHECK(absl::IsNotFound(c.master->KillDriver("driver-nope").status()));

  // A driver still waiting for room is killed without a command.
  const std::string waiting = SubmitOk(c, DriverReq(4, 1024));
  const std::string queued = SubmitOk(c, DriverReq(1, 1024));
  CHECK(DriverOf(c, queued).state == "SUBMITTED");
  c.commands.Take();
  REQUIRE(c.master->KillDriver(queued).ok());
  CHECK(c.commands.Take().empty());
  CHECK(DriverOf(c, waiting).state == "RUNNING");
}

TEST_CASE("drivers: a supervised driver whose worker is lost starts on another",
          "[master][drivers]") {
  MasterFixture c;
  c.AddWorker(1, 4, 4096);
  c.AddWorker(2, 2, 4096);
  const std::string supervised = SubmitOk(c, DriverReq(1, 1024, /*supervise=*/true));
  const std::string plain = SubmitOk(c, DriverReq(1, 1024));
  REQUIRE(DriverOf(c, supervised).worker_id == "w1");
  REQUIRE(DriverOf(c, plain).worker_id == "w1");
  c.commands.Take();
  c.master->UnregisterWorker("w1", "stopped by signal 15 (SIGTERM)");
  CHECK(DriverOf(c, plain).state == "ERROR");
  CHECK_THAT(DriverOf(c, plain).message, Catch::Contains("its worker w1 was lost"));
  CHECK(DriverOf(c, supervised).state == "RELAUNCHING");
  c.clock.Advance(std::chrono::seconds(1));
  c.master->ResumeLaunches(c.clock.Now());
  CHECK(c.commands.With("launch-driver") ==
        std::vector<std::string>{
            StrCat("launch-driver ", Addr(2), " ", supervised, " attempt=1 cores=1 mem=1024")});
  CHECK(DriverOf(c, supervised).worker_id == "w2");
}

TEST_CASE("drivers: a re-registering worker's drivers are kept, taken in or stopped",
          "[master][drivers]") {
  MasterFixture c;
  c.AddWorker(1, 4, 4096);
  const std::string id = SubmitOk(c, DriverReq(1, 1024));
  const std::string gone = SubmitOk(c, DriverReq(1, 1024, /*supervise=*/true));
  c.commands.Take();
  WorkerRegistration r;
  r.id = "w1";
  r.host = "10.0.0.1";
  r.port = 1001;
  r.cores = 4;
  r.memory_mb = 4096;
  r.drivers = {{id, 1, 1024}, {"driver-20250101000000-0007", 1, 512}};
  REQUIRE(c.master->RegisterWorker(r).ok());
  CHECK(DriverOf(c, id).state == "RUNNING");
  DriverView adopted = DriverOf(c, "driver-20250101000000-0007");
  CHECK(adopted.state == "RUNNING");
  CHECK(adopted.name == "(recovered)");
  // `gone` no longer ran there: relaunched (supervised), here since it fits.
  CHECK(DriverOf(c, gone).state == "RELAUNCHING");
  CHECK(c.Worker(1).cores_used == 2);
  CHECK(c.Worker(1).memory_used_mb == 1536);
  // An adopted driver that fails is not relaunched: its binary is not known here.
  ReportDriver(c, 1, "driver-20250101000000-0007", 5, DriverState::kFailed, 1);
  CHECK(DriverOf(c, "driver-20250101000000-0007").state == "FAILED");

  // A driver that ended here and still runs there is stopped.
  REQUIRE(c.master->KillDriver(id).ok());
  c.commands.Take();
  r.drivers = {{id, 1, 1024}};
  REQUIRE(c.master->RegisterWorker(r).ok());
  CHECK(c.commands.With("kill-driver") ==
        std::vector<std::string>{StrCat("kill-driver ", Addr(1), " ", id)});
}

TEST_CASE("drivers: the recovery store keeps drivers, and a restarted master runs them on",
          "[master][drivers][recovery]") {
  absl::StatusOr<std::string> dir = MakeTempDir("/tmp", "kiln-drivers-test-");
  REQUIRE(dir.ok());
  struct Remove {
    std::string path;
    ~Remove() { (void)RemoveAll(path); }
  } remove{*dir};
  RecoveryStore store(*dir);
  std::string running, relaunching, waiting;
  {
    MasterFixture c(true, 10, 0, &store);
    c.AddWorker(1, 2, 4096);
    running = SubmitOk(c, DriverReq(1, 1024, /*supervise=*/true));
    relaunching = SubmitOk(c, DriverReq(1, 1024, /*supervise=*/true));
    waiting = SubmitOk(c, DriverReq(2, 1024));
    ReportDriver(c, 1, relaunching, 0, DriverState::kFailed, 1);
  }
  absl::StatusOr<PersistedState> state = store.Load();
  REQUIRE(state.ok());
  REQUIRE(state->drivers.size() == 3);
  CHECK(state->drivers[0].request.args == std::vector<std::string>{"in.txt", "out"});
  CHECK(state->drivers[0].request.supervise);

  MasterFixture c(true, 10, 0, &store);
  c.master->Restore(*state);
  CHECK(DriverOf(c, running).state == "RUNNING");
  CHECK(DriverOf(c, waiting).state == "SUBMITTED");
  // The worker comes back with the driver that ran there; the relaunch goes there too.
  WorkerRegistration r;
  r.id = "w1";
  r.host = "10.0.0.1";
  r.port = 1001;
  r.cores = 2;
  r.memory_mb = 4096;
  r.token = state->workers[0].token;
  r.drivers = {{running, 1, 1024}};
  REQUIRE(c.master->RegisterWorker(r).ok());
  CHECK(DriverOf(c, running).state == "RUNNING");
  CHECK(DriverOf(c, relaunching).state == "RUNNING");
  CHECK(DriverOf(c, relaunching).relaunches == 1);
  CHECK(c.commands.With("launch-driver") ==
        std::vector<std::string>{
            StrCat("launch-driver ", Addr(1), " ", relaunching, " attempt=1 cores=1 mem=1024")});
  CHECK(c.Worker(1).cores_used == 2);
}

TEST_CASE("drivers: a restored driver whose worker is not known is lost", "[master][drivers]") {
  PersistedState state;
  state.drivers.push_back({.id = "driver-20250101000000-0001",
                           .request = DriverReq(),
                           .state = "RUNNING",
                           .worker_id = "w9",
                           .launches = 1});
  state.drivers.push_back({.id = "driver-20250101000000-0002",
                           .request = DriverReq(1, 1024, /*supervise=*/true),
                           .state = "RUNNING",
                           .worker_id = "w9",
                           .launches = 1});
  MasterFixture c;
  c.master->Restore(state);
  DriverView plain = DriverOf(c, "driver-20250101000000-0001");
  CHECK(plain.state == "ERROR");
  CHECK_THAT(plain.message, Catch::Contains("its worker w9 was not known"));
  CHECK(DriverOf(c, "driver-20250101000000-0002").state == "RELAUNCHING");
  c.AddWorker(1, 4, 4096);
  c.clock.Advance(std::chrono::seconds(1));
  c.master->ResumeLaunches(c.clock.Now());
  CHECK(DriverOf(c, "driver-20250101000000-0002").state == "RUNNING");
  CHECK(c.commands.With("launch-driver") ==
        std::vector<std::string>{StrCat("launch-driver ", Addr(1),
                                        " driver-20250101000000-0002 attempt=1 cores=1 mem=1024")});
}

TEST_CASE("drivers: a damaged driver entry in the recovery file is named", "[master][drivers]") {
  absl::StatusOr<PersistedState> bad =
      DecodeState(R"({"version":1,"workers":[],"apps":[],"drivers":[{"id":"driver-1"}]})");
  CHECK(absl::IsDataLoss(bad.status()));
  // A file from before cluster deploy mode (no "drivers") is fine.
  absl::StatusOr<PersistedState> old = DecodeState(R"({"version":1,"workers":[],"apps":[]})");
  REQUIRE(old.ok());
  CHECK(old->drivers.empty());
}

}  // namespace
}  // namespace kiln::master
