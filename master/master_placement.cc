// The Master's placement: what each application still wants, where its executors go,
// why one waits, and the dynamic-allocation calls that change what it wants. See
// master.h; everything here runs under the Master's mutex unless it takes it.

#include <algorithm>
#include <climits>
#include <vector>

#include "common/rpc_security.h"
#include "common/strings.h"
#include "common/units.h"
#include "master/allocator.h"
#include "master/master.h"
#include "spdlog/spdlog.h"

namespace kiln::master {

absl::Status Master::CheckSatisfiableLocked(const ApplicationRequest& request) const {
  if (request.max_cores > 0 && request.cores_per_executor > request.max_cores) {
    return absl::FailedPreconditionError(
        StrCat("kiln.cores.max (", request.max_cores, ") is below kiln.executor.cores (",
               request.cores_per_executor, "): no executor could ever start"));
  }
  if (request.max_cores == 0 && options_.default_cores > 0 &&
      request.cores_per_executor > options_.default_cores) {
    return absl::FailedPreconditionError(
        StrCat("the master's kiln.deploy.defaultCores (", options_.default_cores,
               ", the cap of applications without kiln.cores.max) is below kiln.executor.cores (",
               request.cores_per_executor, "): no executor could ever start"));
  }
  const std::optional<WorkerRegistry::Largest> largest = workers_.LargestAlive();
  if (!largest) return absl::OkStatus();  // it waits for workers to register
  if (request.memory_per_executor_mb > largest->memory_mb) {
    return absl::FailedPreconditionError(
        StrCat("executors of ", FormatMib(request.memory_per_executor_mb),
               " asked (kiln.executor.memory), but the most memory any worker offers is ",
               FormatMib(largest->memory_mb), ": no executor could ever start"));
  }
  if (request.cores_per_executor > largest->cores) {
    return absl::FailedPreconditionError(
        StrCat("executors of ", request.cores_per_executor,
               " cores asked (kiln.executor.cores), but the most cores any worker has is ",
               largest->cores, ": no executor could ever start"));
  }
  return absl::OkStatus();
}

void Master::ScheduleLocked(Commands* out) {
  ScheduleDriversLocked(out);
  for (Application* app : apps_.Active()) ScheduleApplicationLocked(*app, out);
  PersistLocked();  // scheduling follows every change
}

ExecutorDemand Master::DemandOfLocked(const Application& app) const {
  const ApplicationRequest& req = app.request;
  const int cap = req.max_cores > 0 ? req.max_cores : options_.default_cores;
  ExecutorDemand demand;
  demand.cores_per_executor = req.cores_per_executor;
  demand.memory_per_executor_mb = req.memory_per_executor_mb;
  demand.cores_wanted = cap > 0 ? cap - app.cores_granted() : INT_MAX;
  const int limit = req.executor_limit >= 0
                        ? std::min(req.executor_limit, kMaxExecutorsPerApplication)
                        : kMaxExecutorsPerApplication;
  demand.max_executors = std::max(0, limit - static_cast<int>(app.executors.size()));
  return demand;
}

std::vector<WorkerCapacity> Master::CapacityForLocked(const Application& app) const {
  std::vector<WorkerCapacity> capacity;
  for (const WorkerInfo* w : workers_.Alive()) {
    capacity.push_back({.worker_id = w->id,
                        .cores_free = w->cores_free(),
                        .memory_free_mb = w->memory_free_mb(),
                        .hosts_app_executor = app.HasExecutorOn(w->id)});
  }
  return capacity;
}

ApplicationStatus Master::StatusOfLocked(const Application& app) const {
  ApplicationStatus status{.granted_cores = app.cores_granted()};
  if (!app.executors.empty()) return status;
  if (app.unclaimed) {
    status.waiting_reason =
        "known from its workers only (this master restarted): waiting for its driver";
  } else if (!app.driver_lost.empty()) {
    status.waiting_reason = StrCat("no more launches: ", app.driver_lost);
  } else if (app.request.executor_limit >= 0 &&
             static_cast<int>(app.executors.size()) >= app.request.executor_limit) {
    status.waiting_reason = StrCat("its driver asks for ", app.request.executor_limit,
                                   " executors (dynamic allocation)");
    return status;  // not waiting for anyone's resources
  } else if (app.driver_stopping) {
    status.waiting_reason = "no more launches: its driver is shutting its executors down";
  } else if (app.launches_paused) {
    status.waiting_reason =
        StrCat("launches paused after ", app.consecutive_failures,
               " executor failures in a row (kiln.deploy.maxExecutorRetries) until a worker "
               "joins; the last: ",
               app.last_failure);
  } else if (auto now = options_.clock->Now(); now < app.launches_resume_at) {
    status.waiting_reason = StrCat(
        "launches back off after ", app.consecutive_failures,
        " executor failures in a row; next in ",
        FormatMillis(
            std::chrono::duration_cast<std::chrono::milliseconds>(app.launches_resume_at - now)
                .count()));
  } else {
    status.waiting_reason = WhyNothingPlaced(DemandOfLocked(app), CapacityForLocked(app));
  }
  if (status.waiting_reason.empty()) return status;
  for (const Application* other : apps_.ActiveView()) {
    if (other != &app && !other->executors.empty()) status.queued = true;
  }
  return status;
}

void Master::ScheduleApplicationLocked(Application& app, Commands* out) {
  if (app.launches_paused || !app.driver_lost.empty() || app.driver_stopping || app.unclaimed) {
    return;
  }
  if (options_.clock->Now() < app.launches_resume_at) return;
  const ApplicationRequest& req = app.request;
  const ExecutorDemand demand = DemandOfLocked(app);
  if (demand.cores_wanted <= 0) return;
  const std::vector<WorkerCapacity> capacity = CapacityForLocked(app);
  for (const ExecutorPlacement& p : PlaceExecutors(demand, capacity, options_.spread_out)) {
    workers_.Allocate(p.worker_id, p.cores, p.memory_mb);
    ExecutorInfo& e = apps_.AddExecutor(app, p.worker_id, p.cores, p.memory_mb);
    ++counters_.executors_launched;
    const WorkerInfo* w = workers_.Find(p.worker_id);
    Command c = MakeCommand(Command::Kind::kLaunch, *w, app.id, e.id);
    c.launch = ExecutorLaunch{.app_id = app.id,
                              .app_name = req.name,
                              .executor_id = e.id,
                              .cores = e.cores,
                              .memory_mb = e.memory_mb,
                              .memory_overhead_mb = req.memory_overhead_mb,
                              .driver_address = req.driver_address,
                              .binary_digest = req.binary_digest,
                              .binary_size = req.binary_size,
                              .executor_token = rpc::ExecutorToken(app.token, e.id),
                              .app_ui_url = req.ui_url};
    spdlog::info("launching executor app={} executor={} worker={} cores={} memory=\"{}\"", app.id,
                 e.id, w->id, e.cores, FormatMib(e.memory_mb));
    out->push_back(std::move(c));
  }
}

absl::Status Master::RequestExecutors(const std::string& app_id, int total) {
  if (total < 0) {
    return absl::InvalidArgumentError(StrCat("RequestExecutors: total must be >= 0, got ", total));
  }
  Commands commands;
  {
    absl::MutexLock lock(&mu_);
    Application* app = apps_.FindActive(app_id);
    if (app == nullptr) {
      return absl::NotFoundError(
          StrCat("RequestExecutors: application ", app_id, " is not active"));
    }
    if (app->request.executor_limit != total) {
      spdlog::info("app={} asks for {} executor(s) in all (it holds {})", app_id, total,
                   app->executors.size());
    }
    app->request.executor_limit = total;
    ScheduleLocked(&commands);
  }
  Dispatch(std::move(commands));
  return absl::OkStatus();
}

absl::Status Master::KillExecutors(const std::string& app_id,
                                   const std::vector<int>& executor_ids) {
  Commands commands;
  {
    absl::MutexLock lock(&mu_);
    Application* app = apps_.FindActive(app_id);
    if (app == nullptr) {
      return absl::NotFoundError(StrCat("KillExecutors: application ", app_id, " is not active"));
    }
    for (int id : executor_ids) {
      auto it = app->executors.find(id);
      if (it == app->executors.end()) continue;
      const WorkerInfo* w = workers_.Find(it->second.worker_id);
      spdlog::info("executor released by its driver app={} executor={} worker={}", app_id, id,
                   it->second.worker_id);
      if (w != nullptr && w->state == WorkerState::kAlive) {
        commands.push_back(MakeCommand(Command::Kind::kKill, *w, app_id, id));
      }
      FreeExecutorLocked(*app, id);
    }
    ScheduleLocked(&commands);  // the freed resources may go to another application
  }
  Dispatch(std::move(commands));
  return absl::OkStatus();
}

}  // namespace kiln::master
