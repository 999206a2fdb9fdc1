#include "master/master.h"

#include <climits>
#include <optional>
#include <set>
#include <utility>

#include "common/check.h"
#include "common/executor_command.h"
#include "common/rpc_security.h"
#include "common/status.h"
#include "common/strings.h"
#include "common/units.h"
#include "master/allocator.h"
#include "master/validation.h"
#include "spdlog/spdlog.h"

namespace kiln::master {
namespace {

absl::StatusOr<AppState> ParseFinalState(const std::string& s) {
  if (s.empty() || s == "FINISHED") return AppState::kFinished;
  if (s == "FAILED") return AppState::kFailed;
  if (s == "KILLED") return AppState::kKilled;
  return absl::InvalidArgumentError(
      StrCat("UnregisterApplication: final_state '", s, "' is not FINISHED, FAILED or KILLED"));
}

AppView ViewOf(const Application& app, std::chrono::system_clock::time_point end) {
  AppView v;
  v.id = app.id;
  v.name = app.request.name;
  v.memory_per_executor_mb = app.request.memory_per_executor_mb;
  v.state = AppStateName(app.state);
  v.max_cores = app.request.max_cores;
  v.executor_limit = app.request.executor_limit;
  for (const auto& [id, e] : app.executors) {
    v.executors.push_back(
        {.id = e.id, .worker_id = e.worker_id, .cores = e.cores, .memory_mb = e.memory_mb});
    v.cores += e.cores;
  }
  v.start_ms = EpochMillis(app.start_wall);
  v.duration_ms = std::max<int64_t>(0, EpochMillis(end) - v.start_ms);
  v.ui_url = app.request.ui_url;
  return v;
}

}  // namespace

Master::Master(MasterOptions options) : options_(std::move(options)) {
  KILN_CHECK(options_.commands != nullptr, "MasterOptions::commands is required");
  KILN_CHECK(options_.clock != nullptr);
}

std::chrono::system_clock::time_point Master::WallNow() const {
  return options_.wall_clock ? options_.wall_clock() : std::chrono::system_clock::now();
}

absl::Status Master::RegisterWorker(const WorkerRegistration& r) {
  RETURN_IF_ERROR(ValidateRegistration(r));
  // Only one process can serve host:port. An ALIVE worker there under another id that
  // still answers there with its token is alive: this registration is not that address's.
  std::optional<WorkerTarget> incumbent;
  {
    absl::MutexLock lock(&mu_);
    if (const WorkerInfo* old = workers_.FindAliveAt(r.host, r.port, r.id);
        old != nullptr && !old->token.empty()) {
      incumbent = WorkerTarget{old->address(), old->token};
    }
  }
  if (incumbent.has_value() && options_.commands->Identify(*incumbent).ok()) {
    return absl::AlreadyExistsError(StrCat("a live worker serves ", incumbent->address,
                                           ": register from that address once it is gone"));
  }
  Commands commands;
  {
    absl::MutexLock lock(&mu_);
    if (const WorkerInfo* same = workers_.Find(r.id);
        same != nullptr && same->state == WorkerState::kAlive && !same->token.empty() &&
        !rpc::TokenMatches(same->token, r.token)) {
      return absl::PermissionDeniedError(
          StrCat("worker ", r.id, " is registered, and ALIVE, by another process"));
    }
    // An ALIVE worker there under another id is gone (it did not answer with its token).
    if (WorkerInfo* old = workers_.FindAliveAt(r.host, r.port, r.id)) {
      MarkWorkerDeadLocked(old->id, StrCat("worker ", r.id, " registered at its address"),
                           &commands);
    }
    bool known = workers_.Find(r.id) != nullptr;
    for (Application* app : known ? std::vector<Application*>{} : apps_.Active()) {
      // A new worker may succeed where the others failed: launches resume.
      if (app->launches_paused) app->consecutive_failures = 0;
      app->launches_paused = false;
    }
    ReconcileExecutorsLocked(r, &commands);
    ReconcileDriversLocked(r, &commands);
    // Directories of applications that ended while the worker was away (it was down, or
    // DEAD to this master): told now, as at the end, so that they go. Those of an active
    // application are told when it ends, granted an executor there or not. An
    // application this master never knew (it restarted, or forgot it) is left alone.
    const WorkerInfo& worker = *workers_.Find(r.id);
    for (const std::string& app_id : r.app_dirs) {
      if (Application* active = apps_.FindActive(app_id)) active->workers_used.insert(r.id);
      const Application* ended = apps_.FindCompleted(app_id);
      if (ended == nullptr) continue;
      commands.push_back(FinishedCommand(worker, app_id, ended->state != AppState::kFinished));
    }
    spdlog::info("worker {} worker={} host={} port={} cores={} memory=\"{}\"",
                 known ? "re-registered" : "registered", r.id, r.host, r.port, r.cores,
                 FormatMib(r.memory_mb));
    ScheduleLocked(&commands);
  }
  Dispatch(std::move(commands));
  return absl::OkStatus();
}

bool Master::WorkerHeartbeat(const std::string& worker_id) {
  absl::MutexLock lock(&mu_);
  WorkerInfo* w = workers_.Find(worker_id);
  if (w == nullptr || w->state != WorkerState::kAlive) {
    spdlog::debug("heartbeat from unknown or dead worker={}: asking it to re-register", worker_id);
    return true;
  }
  w->last_heartbeat = options_.clock->Now();
  return false;
}

void Master::UnregisterWorker(const std::string& worker_id, const std::string& reason) {
  Commands commands;
  {
    absl::MutexLock lock(&mu_);
    const WorkerInfo* w = workers_.Find(worker_id);
    if (w == nullptr || w->state != WorkerState::kAlive) return;
    MarkWorkerDeadLocked(worker_id, StrCat("it shut down (", reason, ")"), &commands);
    ScheduleLocked(&commands);
  }
  Dispatch(std::move(commands));
}

absl::Status Master::ExecutorStateChanged(const ExecutorStateReport& report) {
  Commands commands;
  {
    absl::MutexLock lock(&mu_);
    Application* app = apps_.FindActive(report.app_id);
    if (app == nullptr) return absl::OkStatus();  // ended: its grants are already free
    auto it = app->executors.find(report.executor_id);
    if (it == app->executors.end()) return absl::OkStatus();
    if (it->second.worker_id != report.worker_id) {
      spdlog::warn(
          "executor state from a worker that does not host it app={} executor={} "
          "worker={}",
          report.app_id, report.executor_id, report.worker_id);
      return absl::OkStatus();
    }
    switch (report.state) {
      case ExecutorEvent::kLaunching:
        return absl::OkStatus();
      case ExecutorEvent::kRunning:
        it->second.state = ExecutorState::kRunning;
        app->consecutive_failures = 0;
        return absl::OkStatus();
      case ExecutorEvent::kExited:
      case ExecutorEvent::kFailed:
      case ExecutorEvent::kKilled:
        break;
    }
    bool failed = report.state == ExecutorEvent::kFailed;
    // A registered executor whose driver stream broke: the driver is likely gone.
    const bool driver_lost = failed && report.exit_code == kExitDriverLost &&
                             it->second.state == ExecutorState::kRunning;
    if (failed) {
      const WorkerInfo* w = workers_.Find(report.worker_id);
      app->last_failure = StrCat("executor ", report.executor_id, " on host ",
                                 w != nullptr ? w->host : report.worker_id, ": ", report.message);
    }
    auto log = failed ? spdlog::level::warn : spdlog::level::info;
    spdlog::log(log, "executor ended app={} executor={} worker={} exit_code={} message={}",
                report.app_id, report.executor_id, report.worker_id, report.exit_code,
                EscapeControl(report.message));
    if (report.state == ExecutorEvent::kExited) app->driver_stopping = true;
    if (driver_lost) {
      app->driver_lost = StrCat("executor ", report.executor_id,
                                " lost its stream to the driver at ", app->request.driver_address);
    }
    ExecutorEndedLocked(*app, report.executor_id, failed, &commands);
    ScheduleLocked(&commands);
  }
  Dispatch(std::move(commands));
  return absl::OkStatus();
}

absl::Status Master::CheckWorkerCaller(const std::string& worker_id,
                                       const std::string& token) const {
  absl::MutexLock lock(&mu_);
  const WorkerInfo* worker = workers_.Find(worker_id);
  if (worker == nullptr || worker->token.empty() || rpc::TokenMatches(worker->token, token)) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      StrCat("the call does not come from worker ", worker_id, " (wrong worker token)"));
}

absl::Status Master::CheckApplicationCaller(const std::string& app_id,
                                            const std::string& token) const {
  absl::MutexLock lock(&mu_);
  const Application* app = apps_.FindActive(app_id);
  if (app == nullptr) app = apps_.FindCompleted(app_id);
  if (app == nullptr || app->token.empty() || rpc::TokenMatches(app->token, token)) {
    return absl::OkStatus();  // unknown, or unclaimed (known from its workers only)
  }
  return absl::PermissionDeniedError(
      StrCat("the call does not come from the driver of ", app_id, " (wrong application token)"));
}

absl::StatusOr<RegisteredApplication> Master::RegisterApplication(
    const ApplicationRequest& request) {
  RETURN_IF_ERROR(ValidateRequest(request));
  Commands commands;
  RegisteredApplication out;
  {
    absl::MutexLock lock(&mu_);
    for (Application* known : apps_.Active()) {
      if (!request.request_id.empty() && known->request.request_id == request.request_id) {
        // A retry whose first attempt registered: the same application, not a second.
        return RegisteredApplication{
            .id = known->id, .token = known->token, .granted_cores = known->cores_granted()};
      }
    }
    RETURN_IF_ERROR(CheckSatisfiableLocked(request));
    Application& app = apps_.Add(request, WallNow(), options_.clock->Now());
    app.token = rpc::RandomToken();
    out.id = app.id;
    out.token = app.token;
    if (DriverInfo* driver = drivers_.FindActive(request.driver_id)) driver->app_id = app.id;
    spdlog::info(
        "application registered app={} name={} cores_per_executor={} "
        "memory_per_executor=\"{}\" max_cores={} driver={}",
        app.id, request.name, request.cores_per_executor, FormatMib(request.memory_per_executor_mb),
        request.max_cores, request.driver_address);
    ScheduleLocked(&commands);
    out.granted_cores = app.cores_granted();
  }
  Dispatch(std::move(commands));
  return out;
}

bool Master::ApplicationHeartbeat(const std::string& app_id, ApplicationStatus* status) {
  absl::MutexLock lock(&mu_);
  Application* app = apps_.FindActive(app_id);
  // Unclaimed: "unknown" with no reason makes its driver register it again.
  if (app == nullptr || app->unclaimed) return false;
  app->last_heartbeat = options_.clock->Now();
  if (status != nullptr) *status = StatusOfLocked(*app);
  return true;
}

std::string Master::EndReason(const std::string& app_id) const {
  absl::MutexLock lock(&mu_);
  const Application* app = apps_.FindCompleted(app_id);
  return app == nullptr ? "" : app->end_reason;
}

absl::Status Master::UnregisterApplication(const std::string& app_id,
                                           const std::string& final_state) {
  ASSIGN_OR_RETURN(AppState state, ParseFinalState(final_state));
  Commands commands;
  {
    absl::MutexLock lock(&mu_);
    Application* app = apps_.FindActive(app_id);
    if (app == nullptr) {
      if (apps_.IsCompleted(app_id)) return absl::OkStatus();
      return absl::NotFoundError(
          StrCat("UnregisterApplication: application ", app_id, " is not known to this master"));
    }
    EndApplicationLocked(*app, state, "unregistered by its driver", &commands);
    ScheduleLocked(&commands);
  }
  Dispatch(std::move(commands));
  return absl::OkStatus();
}

void Master::ExpireWorkers(std::chrono::steady_clock::time_point cutoff) {
  Commands commands;
  {
    absl::MutexLock lock(&mu_);
    bool changed = false;
    for (WorkerInfo* w : workers_.Alive()) {
      if (w->last_heartbeat >= cutoff) continue;
      MarkWorkerDeadLocked(w->id, "no heartbeat within kiln.worker.timeout", &commands);
      changed = true;
    }
    const auto recovered_cutoff = options_.clock->Now() - options_.recovery_timeout;
    for (const WorkerInfo* w : workers_.All()) {
      if (w->state != WorkerState::kUnknown || w->last_heartbeat >= recovered_cutoff) continue;
      MarkWorkerDeadLocked(
          w->id, "it did not register again within kiln.deploy.recoveryTimeout of the recovery",
          &commands);
      changed = true;
    }
    if (!changed) return;
    ScheduleLocked(&commands);
  }
  Dispatch(std::move(commands));
}

void Master::ExpireApplications(std::chrono::steady_clock::time_point cutoff) {
  Commands commands;
  {
    absl::MutexLock lock(&mu_);
    bool changed = false;
    for (Application* app : apps_.Active()) {
      if (app->last_heartbeat >= cutoff) continue;
      EndApplicationLocked(*app, AppState::kFailed,
                           app->unclaimed
                               ? "no driver claimed it within kiln.app.timeout after this master "
                                 "restarted"
                               : "its driver sent no heartbeat within kiln.app.timeout",
                           &commands);
      changed = true;
    }
    if (!changed) return;
    ScheduleLocked(&commands);
  }
  Dispatch(std::move(commands));
}

void Master::MarkWorkerDeadLocked(const std::string& worker_id, const std::string& reason,
                                  Commands* out) {
  spdlog::warn("worker lost worker={} reason={}", worker_id, EscapeControl(reason));
  std::vector<Application*> touched;
  for (Application* app : apps_.Active()) {
    bool lost = false;
    for (auto it = app->executors.begin(); it != app->executors.end();) {
      if (it->second.worker_id != worker_id) {
        ++it;
        continue;
      }
      spdlog::info("executor lost app={} executor={} worker={}", app->id, it->first, worker_id);
      it = app->executors.erase(it);
      lost = true;
    }
    if (lost) touched.push_back(app);
  }
  DriversLostLocked(worker_id, StrCat("its worker ", worker_id, " was lost: ", reason));
  workers_.MarkDead(worker_id);  // its grants leave with it
  for (Application* app : touched) EndIfRetriesSpentLocked(*app, out);
}

void Master::EndApplicationLocked(Application& app, AppState state, const std::string& reason,
                                  Commands* out) {
  for (const auto& [id, e] : app.executors) {
    workers_.Release(e.worker_id, e.cores, e.memory_mb);
  }
  for (const std::string& worker_id : app.workers_used) {
    const WorkerInfo* w = workers_.Find(worker_id);
    if (w == nullptr || w->state != WorkerState::kAlive) continue;
    out->push_back(FinishedCommand(*w, app.id, state != AppState::kFinished));
  }
  spdlog::info("application ended app={} state={} reason={}", app.id, AppStateName(state),
               EscapeControl(reason));
  app.end_reason = reason;
  ++counters_.apps_ended[AppStateName(state)];
  apps_.Complete(app.id, state, WallNow());  // `app` moves: do not touch it after this
}

ClusterView Master::Snapshot() const {
  auto wall = WallNow();
  ClusterView view;
  absl::MutexLock lock(&mu_);
  auto now = options_.clock->Now();
  for (const WorkerInfo* w : workers_.All()) {
    auto since = std::chrono::duration_cast<std::chrono::milliseconds>(now - w->last_heartbeat);
    view.workers.push_back({.id = w->id,
                            .host = w->host,
                            .port = w->port,
                            .ui_port = w->ui_port,
                            .state = WorkerStateName(w->state),
                            .cores = w->cores,
                            .cores_used = w->cores_used,
                            .memory_mb = w->memory_mb,
                            .memory_used_mb = w->memory_used_mb,
                            .last_heartbeat_ms = EpochMillis(wall) - since.count()});
    if (w->state == WorkerState::kUnknown) view.status = "RECOVERING";
    if (w->state != WorkerState::kAlive) continue;
    view.cores += w->cores;
    view.cores_used += w->cores_used;
    view.memory_mb += w->memory_mb;
    view.memory_used_mb += w->memory_used_mb;
  }
  for (const Application* app : apps_.ActiveView()) {
    AppView v = ViewOf(*app, wall);
    v.waiting_reason = StatusOfLocked(*app).waiting_reason;
    view.active_apps.push_back(std::move(v));
  }
  for (const Application& app : apps_.completed()) {
    AppView v = ViewOf(app, app.end_wall);
    // Its driver's UI is gone: the history server's, if there is one, shows it.
    v.ui_url = options_.history_url.empty()
                   ? ""
                   : StrCat(options_.history_url, "/history/", app.id, "/jobs");
    view.completed_apps.push_back(std::move(v));
  }
  for (const DriverInfo* d : drivers_.ActiveView()) {
    view.active_drivers.push_back(DriverViewLocked(*d));
  }
  view.counters = counters_;
  for (const DriverInfo& d : drivers_.completed()) {
    view.completed_drivers.push_back(DriverViewLocked(d));
  }
  return view;
}

}  // namespace kiln::master
