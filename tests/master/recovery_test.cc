// A master that restarted without a recovery directory while applications ran: their
// executors, reported by re-registering workers, keep running under placeholder
// applications until each driver reclaims its application (same id and token); one that
// nobody reclaims ends after kiln.app.timeout. Fake clock, fake worker commands.

#include "master/master.h"
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

}  // namespace
}  // namespace kiln::master
