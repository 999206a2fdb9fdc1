// The master's liveness sweeper: its cutoffs, its loop, its stop.

#include <atomic>

#include "absl/synchronization/notification.h"
#include "common/clock.h"
#include "master/liveness_sweeper.h"
#include "tests/kiln_catch.h"

namespace kiln::master {
namespace {

class RecordingTarget final : public LivenessTarget {
 public:
  void ExpireWorkers(std::chrono::steady_clock::time_point cutoff) override {
    worker_cutoff = cutoff;
    if (++sweeps == 1) first.Notify();
  }
  void ExpireApplications(std::chrono::steady_clock::time_point cutoff) override {
    app_cutoff = cutoff;
  }
  void ResumeLaunches(std::chrono::steady_clock::time_point now) override { resume_now = now; }
  std::atomic<int> sweeps{0};
  std::chrono::steady_clock::time_point worker_cutoff, app_cutoff, resume_now;
  absl::Notification first;
};

TEST_CASE("liveness sweeper: cutoffs come from the clock and the timeouts") {
  FakeClock clock;
  RecordingTarget target;
  LivenessOptions o;
  o.worker_timeout = std::chrono::seconds(60);
  o.app_timeout = std::chrono::seconds(30);
  o.clock = &clock;
  LivenessSweeper sweeper(o, &target);
  CHECK(sweeper.interval() == std::chrono::milliseconds(1000));  // clamped quarter
  sweeper.SweepOnce();
  CHECK(target.worker_cutoff == clock.Now() - std::chrono::seconds(60));
  CHECK(target.app_cutoff == clock.Now() - std::chrono::seconds(30));
}

TEST_CASE("liveness sweeper: the loop sweeps and Stop returns promptly") {
  RecordingTarget target;
  LivenessOptions o;
  o.interval = std::chrono::milliseconds(10);
  LivenessSweeper sweeper(o, &target);
  sweeper.Start();
  REQUIRE(target.first.WaitForNotificationWithTimeout(absl::Seconds(30)));
  auto before = std::chrono::steady_clock::now();
  sweeper.Stop();
  CHECK(std::chrono::steady_clock::now() - before < std::chrono::seconds(5));
}

}  // namespace
}  // namespace kiln::master
