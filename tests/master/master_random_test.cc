// The master under random interleavings of everything that changes its grants: workers
// joining, leaving, going silent and coming back with the executors they still run;
// applications registering (some retried), ending and going silent; executors starting,
// failing, exiting and losing their driver; launches that fail. After every step no
// worker is granted more cores or memory than it has, and what the workers are charged
// is exactly what the active applications hold.

#include <map>
#include <random>

#include "common/clock.h"
#include "common/executor_command.h"
#include "master/liveness_sweeper.h"
#include "master/master.h"
#include "spdlog/spdlog.h"
#include "tests/kiln_catch.h"
#include "tests/master/fake_worker_commands.h"

namespace kiln::master {
namespace {

using std::chrono::seconds;

class RandomRun {
 public:
  explicit RandomRun(uint64_t seed) : rng_(seed) {
    MasterOptions o;
    o.master_id = "master-random";
    o.spread_out = Pick(2) == 0;
    // 0 (no limit: refused launches back off after Master::kLaunchBackoffAfter) to 4.
    o.max_executor_retries = static_cast<int>(Pick(5));
    o.default_cores = Pick(3) == 0 ? 1 + static_cast<int>(Pick(6)) : 0;  // kiln.deploy.defaultCores
    o.clock = &clock_;
    o.commands = &commands_;
    master_ = std::make_unique<Master>(std::move(o));
    sweeper_ = std::make_unique<LivenessSweeper>(
        LivenessOptions{
            .worker_timeout = seconds(60), .app_timeout = seconds(60), .clock = &clock_},
        master_.get());
  }

  void Step() {
    switch (Pick(10)) {
      case 0:
      case 1:
        AddWorker(static_cast<int>(Pick(6)));  // a new one or one coming back
        break;
      case 2:
        AddApp();
        break;
      case 3:
      case 4:
      case 5:
        ReportRandomExecutor();
        break;
      case 6:
        if (const std::string app = RandomApp(); !app.empty()) {
          switch (Pick(4)) {
            case 0:  // dynamic allocation: a new total, or executors given back
              (void)master_->RequestExecutors(app, static_cast<int>(Pick(6)));
              break;
            case 1:
              (void)master_->KillExecutors(app,
                                           {static_cast<int>(Pick(8)), static_cast<int>(Pick(8))});
              break;
            default:
              (void)master_->UnregisterApplication(app, Pick(2) == 0 ? "FINISHED" : "FAILED");
          }
        }
        break;
      case 7:
        master_->UnregisterWorker(StrCat("w", Pick(6)), "stopped");
        break;
      case 8:
        clock_.Advance(seconds(static_cast<int>(Pick(40))));
        sweeper_->SweepOnce();
        break;
      default:
        if (Pick(3) == 0) {
          commands_.FailLaunchesTo(StrCat("10.0.0.1:", 1000 + Pick(6)));
        } else {
          for (int n = 0; n < 6; ++n) (void)master_->WorkerHeartbeat(StrCat("w", n));
          for (const std::string& app : ActiveApps()) (void)master_->ApplicationHeartbeat(app);
        }
    }
  }

  // The invariants, with what broke them.
  void Check(int step) {
    ClusterView v = master_->Snapshot();
    std::map<std::string, std::pair<int, int64_t>> held;  // worker -> cores, memory
    for (const AppView& a : v.active_apps) {
      for (const ExecutorView& e : a.executors) {
        held[e.worker_id].first += e.cores;
        held[e.worker_id].second += e.memory_mb;
      }
    }
    // Scheduling runs after every change: an application holds executors, or it says why
    // it cannot.
    for (const AppView& a : v.active_apps) {
      INFO("step " << step << " app " << a.id << " waiting: " << a.waiting_reason);
      REQUIRE(a.executors.empty() == !a.waiting_reason.empty());
    }
    for (const WorkerView& w : v.workers) {
      INFO("step " << step << " worker " << w.id << " " << w.state);
      REQUIRE(w.cores_used >= 0);
      REQUIRE(w.cores_used <= w.cores);
      REQUIRE(w.memory_used_mb >= 0);
      REQUIRE(w.memory_used_mb <= w.memory_mb);
      if (w.state == "ALIVE") {
        REQUIRE(w.cores_used == held[w.id].first);
        REQUIRE(w.memory_used_mb == held[w.id].second);
      } else {
        REQUIRE(held[w.id].first == 0);  // nothing is granted on a DEAD worker
      }
    }
  }

 private:
  uint64_t Pick(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }

  void AddWorker(int n) {
    WorkerRegistration r{.id = StrCat("w", n),
                         .host = "10.0.0.1",
                         .port = 1000 + n,
                         .ui_port = 2000 + n,
                         .cores = 1 + static_cast<int>(Pick(8)),
                         .memory_mb = 1024 * (1 + static_cast<int64_t>(Pick(8)))};
    // Coming back after the master lost it: it declares some executors it still runs,
    // of applications that may or may not hold a grant there.
    for (const std::string& app : ActiveApps()) {
      if (Pick(3) == 0) {
        r.executors.push_back({.app_id = app,
                               .executor_id = static_cast<int>(Pick(8)),
                               .cores = 1,
                               .memory_mb = 512});
      }
    }
    (void)master_->RegisterWorker(r);
  }

  void AddApp() {
    ApplicationRequest r;
    r.name = "random";
    r.cores_per_executor = static_cast<int>(Pick(4));  // 0: all of a worker's free cores
    r.memory_per_executor_mb = 256 * (1 + static_cast<int64_t>(Pick(12)));
    r.max_cores = static_cast<int>(Pick(10));
    r.binary_digest = "abc123";
    r.driver_address = "10.0.0.9:4000";
    r.request_id = StrCat("driver-", Pick(12));  // some registrations are retries
    if (Pick(3) == 0) r.executor_limit = static_cast<int>(Pick(4));  // dynamic allocation
    (void)master_->RegisterApplication(r);
  }

  void ReportRandomExecutor() {
    ClusterView v = master_->Snapshot();
    if (v.active_apps.empty()) return;
    const AppView& a = v.active_apps[Pick(v.active_apps.size())];
    if (a.executors.empty()) return;
    const ExecutorView& e = a.executors[Pick(a.executors.size())];
    constexpr ExecutorEvent kEvents[] = {ExecutorEvent::kRunning, ExecutorEvent::kRunning,
                                         ExecutorEvent::kFailed, ExecutorEvent::kExited,
                                         ExecutorEvent::kKilled};
    ExecutorStateReport r{.worker_id = Pick(8) == 0 ? "w-other" : e.worker_id,
                          .app_id = a.id,
                          .executor_id = e.id,
                          .state = kEvents[Pick(5)]};
    if (r.state == ExecutorEvent::kFailed && Pick(3) == 0) r.exit_code = kExitDriverLost;
    (void)master_->ExecutorStateChanged(r);
  }

  std::vector<std::string> ActiveApps() {
    std::vector<std::string> out;
    for (const AppView& a : master_->Snapshot().active_apps) out.push_back(a.id);
    return out;
  }
  std::string RandomApp() {
    std::vector<std::string> apps = ActiveApps();
    return apps.empty() ? "" : apps[Pick(apps.size())];
  }

  std::mt19937_64 rng_;
  FakeClock clock_;
  FakeWorkerCommands commands_;
  std::unique_ptr<Master> master_;
  std::unique_ptr<LivenessSweeper> sweeper_;
};

TEST_CASE("master: grants never exceed capacity over random interleavings", "[master][random]") {
  const auto level = spdlog::get_level();
  spdlog::set_level(spdlog::level::err);  // thousands of lifecycle lines otherwise
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    INFO("seed " << seed);
    RandomRun run(seed);
    for (int step = 0; step < 300; ++step) {
      run.Step();
      run.Check(step);
    }
  }
  spdlog::set_level(level);
}

}  // namespace
}  // namespace kiln::master
