// A master that restarted while applications ran. Without a recovery directory, their
// executors, reported by re-registering workers, keep running under placeholder
// applications until each driver reclaims its application (same id and token); one that
// nobody reclaims ends after kiln.app.timeout. With one (FILESYSTEM), the new master
// knows its workers and applications at once. Fake clock, fake worker commands.

#include "common/files.h"
#include "master/master.h"
#include "master/recovery_store.h"
#include "tests/kiln_catch.h"
#include "tests/master/master_fixture.h"

namespace kiln::master {
namespace {

constexpr char kApp[] = "app-20260101000000-0003";

TEST_CASE("recovery: a worker's executors of an unknown application run on until it is reclaimed",
          "[master][recovery]") {
  MasterFixture c;
  c.AddWorker(1, 4, 4096, {{kApp, 0, 1, 512}, {kApp, 1, 1, 512}});
  CHECK(c.commands.Take().empty());  // nothing stopped
  AppView placeholder = c.App(kApp);
  CHECK(placeholder.executors.size() == 2);
  CHECK(placeholder.name == "(recovered)");
  CHECK(placeholder.waiting_reason.empty());  // it holds executors
  CHECK(c.Worker(1).cores_used == 2);
  // Its driver's heartbeat hears "unknown, no reason": the cue to register it again.
  CHECK_FALSE(c.master->ApplicationHeartbeat(kApp));
  CHECK(c.master->EndReason(kApp).empty());
  CHECK(c.master->CheckApplicationCaller(kApp, "any").ok());

  auto reclaimed = c.master->ReclaimApplication(MasterFixture::Request(1, 512, 3), kApp, "tok");
  REQUIRE(reclaimed.ok());
  CHECK(reclaimed->id == kApp);
  CHECK(reclaimed->token == "tok");
  AppView a = c.App(kApp);
  CHECK(a.name == "test app");
  CHECK(a.executors.size() == 3);  // its two, and one more up to its cap of 3
  CHECK(c.commands.With("launch") ==
        std::vector<std::string>{"launch " + Addr(1) + " " + kApp + " 2 cores=1 mem=512"});
  CHECK(c.master->ApplicationHeartbeat(kApp));
  CHECK(absl::IsPermissionDenied(c.master->CheckApplicationCaller(kApp, "forged")));
  // A retry gets the same; another driver does not get it.
  CHECK(c.master->ReclaimApplication(MasterFixture::Request(1, 512, 3), kApp, "tok").ok());
  CHECK(absl::IsPermissionDenied(
      c.master->ReclaimApplication(MasterFixture::Request(1, 512, 3), kApp, "other").status()));
}

TEST_CASE("recovery: a driver that reclaims before its workers return gets their executors",
          "[master][recovery]") {
  MasterFixture c;
  auto reclaimed = c.master->ReclaimApplication(MasterFixture::Request(1, 512, 2), kApp, "tok");
  REQUIRE(reclaimed.ok());
  CHECK(c.App(kApp).executors.empty());
  c.AddWorker(1, 4, 4096, {{kApp, 4, 1, 512}, {kApp, 7, 1, 512}});
  CHECK(c.commands.With("kill").empty());
  CHECK(c.App(kApp).executors.size() == 2);
  CHECK(c.Worker(1).cores_used == 2);
  // Ended applications stay ended.
  const std::string done = c.AddApp(1, 512, 1);
  REQUIRE(c.master->UnregisterApplication(done, "FINISHED").ok());
  CHECK(absl::IsFailedPrecondition(
      c.master->ReclaimApplication(MasterFixture::Request(1, 512, 1), done, "tok").status()));
  CHECK(absl::IsInvalidArgument(
      c.master->ReclaimApplication(MasterFixture::Request(1, 512, 1), kApp, "").status()));
}

TEST_CASE("recovery: an application nobody reclaims ends after kiln.app.timeout",
          "[master][recovery]") {
  MasterFixture c;  // kiln.app.timeout 120 s
  c.AddWorker(1, 4, 4096, {{kApp, 0, 2, 1024}});
  c.clock.Advance(seconds(100));
  CHECK_FALSE(c.master->WorkerHeartbeat("w1"));
  c.sweeper->SweepOnce();
  CHECK(c.App(kApp).state == "RUNNING");
  c.clock.Advance(seconds(30));
  CHECK_FALSE(c.master->WorkerHeartbeat("w1"));
  c.sweeper->SweepOnce();
  CHECK(c.App(kApp).state == "FAILED");
  CHECK(c.master->EndReason(kApp) ==
        "no driver claimed it within kiln.app.timeout after this master restarted");
  CHECK(c.commands.Take() == std::vector<std::string>{"failed " + Addr(1) + " " + kApp});
  CHECK(c.Worker(1).cores_used == 0);
}

TEST_CASE("recovery: the stored state round-trips, and a damaged file is an error",
          "[master][recovery]") {
  PersistedState state;
  state.workers.push_back({.id = "w1",
                           .host = "10.0.0.1",
                           .port = 1001,
                           .ui_port = 2001,
                           .cores = 4,
                           .memory_mb = 4096,
                           .token = "wt"});
  PersistedApp app{.id = kApp,
                   .token = "at",
                   .request = MasterFixture::Request(2, 1024, 6),
                   .start_ms = 1700000000123,
                   .next_executor_id = 5};
  app.request.executor_limit = 3;
  state.apps.push_back(app);
  absl::StatusOr<PersistedState> back = DecodeState(EncodeState(state));
  REQUIRE(back.ok());
  CHECK(EncodeState(*back) == EncodeState(state));
  CHECK(back->apps[0].request.executor_limit == 3);
  CHECK(back->workers[0].token == "wt");
  for (const std::string bad : {"", "{", "[]", R"({"version":2,"workers":[],"apps":[]})",
                                R"({"version":1,"workers":[{"id":3}],"apps":[]})"}) {
    INFO(bad);
    CHECK(absl::IsDataLoss(DecodeState(bad).status()));
  }
}

TEST_CASE("recovery: with FILESYSTEM a restarted master knows its workers and applications",
          "[master][recovery]") {
  auto dir = MakeTempDir("/tmp", "kiln-recovery-test-");
  REQUIRE(dir.ok());
  std::string app;
  std::string token;
  {
    RecoveryStore store(*dir);
    MasterFixture before(true, 10, 0, &store);
    before.AddWorker(1, 4, 4096);
    before.AddWorker(2, 4, 4096);
    auto registered = before.master->RegisterApplication(MasterFixture::Request(1, 512, 2));
    REQUIRE(registered.ok());
    app = registered->id;
    token = registered->token;
    const std::string ended = before.AddApp(1, 512, 1);
    REQUIRE(before.master->UnregisterApplication(ended, "FINISHED").ok());
  }
  RecoveryStore store(*dir);
  absl::StatusOr<PersistedState> state = store.Load();
  REQUIRE(state.ok());
  CHECK(state->workers.size() == 2);
  REQUIRE(state->apps.size() == 1);  // the active one only

  MasterFixture after(true, 10, 0, &store);
  after.master->Restore(*state);
  ClusterView view = after.master->Snapshot();
  CHECK(view.status == "RECOVERING");
  CHECK(after.Worker(1).state == "UNKNOWN");
  CHECK(after.App(app).state == "WAITING");
  CHECK(after.master->ApplicationHeartbeat(app));  // its driver just goes on
  CHECK(after.master->CheckApplicationCaller(app, token).ok());
  CHECK(absl::IsPermissionDenied(after.master->CheckApplicationCaller(app, "forged")));
  CHECK(after.commands.Take().empty());  // nothing placed on UNKNOWN workers

  // Worker 1 comes back with the executor it runs; worker 2 never does.
  after.AddWorker(1, 4, 4096, {{app, 0, 1, 512}});
  CHECK(after.App(app).executors.size() == 2);  // its own, and one more up to its cap
  CHECK(after.App(app).executors.front().id == 0);
  CHECK(after.Worker(2).state == "UNKNOWN");
  after.clock.Advance(seconds(91));
  (void)after.master->WorkerHeartbeat("w1");
  (void)after.master->ApplicationHeartbeat(app);
  after.sweeper->SweepOnce();
  CHECK(after.Worker(2).state == "DEAD");
  CHECK(after.master->Snapshot().status == "ALIVE");
  // The store follows: the DEAD worker has left it.
  absl::StatusOr<PersistedState> now = store.Load();
  REQUIRE(now.ok());
  CHECK(now->workers.size() == 1);
  CHECK(RemoveAll(*dir).ok());
}

}  // namespace
}  // namespace kiln::master
