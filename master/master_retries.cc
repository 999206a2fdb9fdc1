// Master (master/master.h), its bounds on failing executors: kiln.deploy.maxExecutorRetries,
// the pause of an application whose executors run while others fail, and the launch
// backoff.

#include <algorithm>
#include <chrono>
#include <string>

#include "common/check.h"
#include "common/strings.h"
#include "master/master.h"
#include "spdlog/spdlog.h"

namespace kiln::master {

void Master::FreeExecutorLocked(Application& app, int executor_id) {
  auto it = app.executors.find(executor_id);
  KILN_CHECK(it != app.executors.end());
  workers_.Release(it->second.worker_id, it->second.cores, it->second.memory_mb);
  app.executors.erase(it);
}

void Master::ExecutorEndedLocked(Application& app, int executor_id, bool failed, Commands* out) {
  FreeExecutorLocked(app, executor_id);
  if (failed) {
    ++counters_.executors_failed;
    ++app.consecutive_failures;
    BackOffLaunchesLocked(app);
  }
  EndIfRetriesSpentLocked(app, out);
}

void Master::BackOffLaunchesLocked(Application& app) {
  const int beyond = app.consecutive_failures - kLaunchBackoffAfter;
  if (beyond < 0) return;
  const auto wait = std::min<std::chrono::seconds>(std::chrono::seconds(1LL << std::min(beyond, 6)),
                                                   std::chrono::seconds(60));
  app.launches_resume_at = options_.clock->Now() + wait;
  spdlog::warn("app={}: {} executor failures in a row; its next launch waits {} s", app.id,
               app.consecutive_failures, wait.count());
}

void Master::ResumeLaunches(std::chrono::steady_clock::time_point now) {
  Commands commands;
  {
    absl::MutexLock lock(&mu_);
    bool resumed = false;
    for (Application* app : apps_.Active()) {
      if (app->launches_resume_at == std::chrono::steady_clock::time_point{} ||
          now < app->launches_resume_at) {
        continue;
      }
      app->launches_resume_at = {};
      resumed = true;
    }
    for (const DriverInfo* d : drivers_.ActiveView()) {
      resumed |= d->state == DriverState::kRelaunching && now >= d->relaunch_at;
    }
    if (!resumed) return;
    ScheduleLocked(&commands);
  }
  Dispatch(std::move(commands));
}

void Master::EndIfRetriesSpentLocked(Application& app, Commands* out) {
  if (!app.driver_lost.empty()) {
    // No new executors: they could not reach the driver. Those that still reach it
    // keep it going; when none does, the application ends.
    if (!app.HasRunningExecutor()) {
      EndApplicationLocked(app, AppState::kFailed, StrCat("its driver is gone: ", app.driver_lost),
                           out);
    }
    return;
  }
  const int max = options_.max_executor_retries;
  if (max <= 0 || app.consecutive_failures < max) return;
  std::string why =
      StrCat(app.consecutive_failures,
             " executor failures in a row (kiln.deploy.maxExecutorRetries=", max, ")");
  if (!app.last_failure.empty()) StrAppend(&why, "; the last: ", app.last_failure);
  if (!app.HasRunningExecutor()) {
    EndApplicationLocked(app, AppState::kFailed, why, out);
  } else if (!app.launches_paused) {
    // Spark's rule: an application whose executors run is not removed for failures
    // elsewhere. It keeps what it has; a worker that joins lifts the pause.
    app.launches_paused = true;
    spdlog::warn("app={}: no more executor launches after {}; it keeps its running executors",
                 app.id, why);
  }
}

}  // namespace kiln::master
