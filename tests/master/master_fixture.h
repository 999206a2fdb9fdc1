#pragma once
// A Master with fake worker commands and a fake clock, driven by hand from one test
// thread: workers "wN" at 10.0.0.1:100N, applications whose driver is 10.0.0.9:4000.

#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/strings.h"
#include "master/liveness_sweeper.h"
#include "master/master.h"
#include "tests/kiln_catch.h"
#include "tests/master/fake_worker_commands.h"

namespace kiln::master {

using std::chrono::seconds;

struct MasterFixture {
  FakeClock clock;
  FakeWorkerCommands commands;
  std::unique_ptr<Master> master;
  std::unique_ptr<LivenessSweeper> sweeper;
  int last_granted_cores = -1;

  explicit MasterFixture(bool spread_out = true, int retries = 10, int default_cores = 0,
                         RecoveryStore* store = nullptr, std::string history_url = "") {
    MasterOptions o;
    o.history_url = std::move(history_url);
    o.master_id = "master-test";
    o.spread_out = spread_out;
    o.max_executor_retries = retries;
    o.default_cores = default_cores;
    o.store = store;
    o.recovery_timeout = seconds(90);
    o.clock = &clock;
    o.wall_clock = [] { return std::chrono::system_clock::time_point(seconds(1700000000)); };
    o.commands = &commands;
    master = std::make_unique<Master>(std::move(o));
    LivenessOptions l;
    l.worker_timeout = seconds(60);
    l.app_timeout = seconds(120);
    l.clock = &clock;
    sweeper = std::make_unique<LivenessSweeper>(l, master.get());  // never Start()ed
  }

  // Worker "wN" at 10.0.0.1:100N.
  void AddWorker(int n, int cores, int64_t memory_mb, std::vector<ReportedExecutor> executors = {},
                 std::vector<std::string> app_dirs = {}) {
    WorkerRegistration r;
    r.id = StrCat("w", n);
    r.host = "10.0.0.1";
    r.port = 1000 + n;
    r.ui_port = 2000 + n;
    r.cores = cores;
    r.memory_mb = memory_mb;
    r.executors = std::move(executors);
    r.app_dirs = std::move(app_dirs);
    REQUIRE(master->RegisterWorker(r).ok());
  }

  static ApplicationRequest Request(int cores_per_executor, int64_t memory_mb, int max_cores) {
    ApplicationRequest r;
    r.name = "test app";
    r.cores_per_executor = cores_per_executor;
    r.memory_per_executor_mb = memory_mb;
    r.max_cores = max_cores;
    r.binary_digest = "abc123";
    r.driver_address = "10.0.0.9:4000";
    return r;
  }

  std::string AddApp(int cores_per_executor, int64_t memory_mb, int max_cores) {
    ApplicationRequest r = Request(cores_per_executor, memory_mb, max_cores);
    auto app = master->RegisterApplication(r);
    REQUIRE(app.ok());
    last_granted_cores = app->granted_cores;
    return app->id;
  }

  WorkerView Worker(int n) {
    for (const WorkerView& w : master->Snapshot().workers) {
      if (w.id == StrCat("w", n)) return w;
    }
    FAIL("no worker w" << n);
    return {};
  }

  AppView App(const std::string& id) {
    ClusterView v = master->Snapshot();
    for (const auto* list : {&v.active_apps, &v.completed_apps}) {
      for (const AppView& a : *list) {
        if (a.id == id) return a;
      }
    }
    FAIL("no app " << id);
    return {};
  }

  void ReportExecutor(int worker, const std::string& app, int executor, ExecutorEvent state,
                      int exit_code = 0) {
    ExecutorStateReport r;
    r.worker_id = StrCat("w", worker);
    r.app_id = app;
    r.executor_id = executor;
    r.state = state;
    r.exit_code = exit_code;
    REQUIRE(master->ExecutorStateChanged(r).ok());
  }
};

inline std::string Addr(int n) { return StrCat("10.0.0.1:", 1000 + n); }

}  // namespace kiln::master
