// The Master across restarts: what a (re-)registering worker's executors become
// (kept, taken in, stopped), the driver that registers its application again, and the
// state kiln.deploy.recoveryMode=FILESYSTEM keeps. See master.h; the *Locked functions
// run under the Master's mutex.

#include <set>
#include <utility>

#include "common/rpc_security.h"
#include "common/status.h"
#include "common/strings.h"
#include "master/master.h"
#include "master/validation.h"
#include "spdlog/spdlog.h"

namespace kiln::master {

// Replaces the worker's entry; keeps the executors the master granted there that the
// worker still runs, drops the ones it no longer runs, and stops the ones it runs that
// the master did not grant there (or no longer wants).
void Master::ReconcileExecutorsLocked(const WorkerRegistration& r, Commands* out) {
  std::set<std::pair<std::string, int>> reported;
  for (const ReportedExecutor& e : r.executors) reported.insert({e.app_id, e.executor_id});

  WorkerInfo entry;
  entry.id = r.id;
  entry.host = r.host;
  entry.port = r.port;
  entry.ui_port = r.ui_port;
  entry.cores = r.cores;
  entry.memory_mb = r.memory_mb;
  entry.last_heartbeat = options_.clock->Now();
  entry.token = r.token;
  workers_.Register(std::move(entry));  // nothing in use yet
  WorkerInfo* worker = workers_.Find(r.id);

  std::set<std::pair<std::string, int>> kept;
  for (Application* app : apps_.Active()) {
    for (auto it = app->executors.begin(); it != app->executors.end();) {
      ExecutorInfo& e = it->second;
      bool still_runs = reported.count({app->id, e.id}) > 0;
      bool fits = e.cores <= worker->cores_free() && e.memory_mb <= worker->memory_free_mb();
      if (e.worker_id != r.id || (still_runs && fits)) {
        if (e.worker_id == r.id) {
          workers_.Allocate(r.id, e.cores, e.memory_mb);
          kept.insert({app->id, e.id});
        }
        ++it;
        continue;
      }
      spdlog::info("executor lost app={} executor={} worker={}", app->id, e.id, r.id);
      it = app->executors.erase(it);
    }
  }
  std::set<std::string> finished_apps;
  for (const ReportedExecutor& e : r.executors) {
    if (kept.count({e.app_id, e.executor_id}) > 0) continue;
    Application* app = apps_.FindActive(e.app_id);
    if (app == nullptr && !apps_.IsCompleted(e.app_id)) {
      // Never known here: this master restarted (or forgot it) while it ran. Its
      // executors run on, and its driver may claim it again (ReclaimApplication).
      app = &apps_.Readd(e.app_id,
                         ApplicationRequest{.name = "(recovered)",
                                            .cores_per_executor = e.cores,
                                            .memory_per_executor_mb = e.memory_mb},
                         WallNow(), options_.clock->Now());
      app->unclaimed = app->recovered = true;
      spdlog::info("application known from worker {} only app={}: waiting for its driver", r.id,
                   e.app_id);
    }
    const bool fits = e.cores <= worker->cores_free() && e.memory_mb <= worker->memory_free_mb();
    if (app != nullptr && app->recovered && app->executors.count(e.executor_id) == 0 && fits) {
      apps_.AdoptExecutor(*app, e.executor_id, r.id, e.cores, e.memory_mb);
      workers_.Allocate(r.id, e.cores, e.memory_mb);
      spdlog::info("executor taken in app={} executor={} worker={}", e.app_id, e.executor_id, r.id);
      continue;
    }
    if (app == nullptr) {
      if (finished_apps.insert(e.app_id).second) {
        const Application* ended = apps_.FindCompleted(e.app_id);
        out->push_back(FinishedCommand(*worker, e.app_id,
                                       ended == nullptr || ended->state != AppState::kFinished));
      }
      continue;
    }
    spdlog::info("stopping executor not granted here app={} executor={} worker={}", e.app_id,
                 e.executor_id, r.id);
    out->push_back(MakeCommand(Command::Kind::kKill, *worker, e.app_id, e.executor_id));
  }
}

absl::StatusOr<RegisteredApplication> Master::ReclaimApplication(const ApplicationRequest& request,
                                                                 const std::string& app_id,
                                                                 const std::string& token) {
  RETURN_IF_ERROR(ValidateRequest(request));
  RETURN_IF_ERROR(ValidateReclaim(app_id, token));
  Commands commands;
  RegisteredApplication out;
  {
    absl::MutexLock lock(&mu_);
    Application* app = apps_.FindActive(app_id);
    if (app != nullptr && !app->unclaimed) {
      if (!rpc::TokenMatches(app->token, token)) {
        return absl::PermissionDeniedError(
            StrCat("application ", app_id, " is registered, by another driver"));
      }
      return RegisteredApplication{
          .id = app->id, .token = app->token, .granted_cores = app->cores_granted()};  // a retry
    }
    if (app == nullptr && apps_.IsCompleted(app_id)) {
      const Application* ended = apps_.FindCompleted(app_id);
      return absl::FailedPreconditionError(
          StrCat("application ", app_id, " has ended: ", ended->end_reason));
    }
    const auto now = options_.clock->Now();
    if (app == nullptr) app = &apps_.Readd(app_id, request, WallNow(), now);
    app->request = request;
    if (DriverInfo* driver = drivers_.FindActive(request.driver_id)) driver->app_id = app_id;
    app->token = token;
    app->unclaimed = false;
    app->recovered = true;
    app->last_heartbeat = now;
    spdlog::info("application reclaimed by its driver app={} name={} executors={} driver={}",
                 app_id, request.name, app->executors.size(), request.driver_address);
    ScheduleLocked(&commands);
    out = RegisteredApplication{
        .id = app->id, .token = app->token, .granted_cores = app->cores_granted()};
  }
  Dispatch(std::move(commands));
  return out;
}

void Master::PersistLocked() {
  if (options_.store == nullptr) return;
  PersistedState state;
  for (const WorkerInfo* w : workers_.All()) {
    if (w->state == WorkerState::kDead) continue;
    state.workers.push_back({.id = w->id,
                             .host = w->host,
                             .port = w->port,
                             .ui_port = w->ui_port,
                             .cores = w->cores,
                             .memory_mb = w->memory_mb,
                             .token = w->token});
  }
  for (const Application* app : apps_.ActiveView()) {
    if (app->unclaimed) continue;  // its driver brings it back
    state.apps.push_back({.id = app->id,
                          .token = app->token,
                          .request = app->request,
                          .start_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                          app->start_wall.time_since_epoch())
                                          .count(),
                          .next_executor_id = app->next_executor_id});
  }
  for (const DriverInfo* d : drivers_.ActiveView()) {
    if (d->adopted) continue;  // not relaunchable: nothing to restore it from
    state.drivers.push_back({.id = d->id,
                             .request = d->request,
                             .state = DriverStateName(d->state),
                             .worker_id = d->worker_id,
                             .launches = d->launches,
                             .relaunches = d->relaunches,
                             .app_id = d->app_id,
                             .submit_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                              d->submit_wall.time_since_epoch())
                                              .count()});
  }
  if (absl::Status s = options_.store->Save(state); !s.ok()) {
    spdlog::error("cannot save the master's state (kiln.deploy.recoveryDirectory): {}",
                  View(s.message()));
  }
}

void Master::Restore(const PersistedState& state) {
  absl::MutexLock lock(&mu_);
  const auto now = options_.clock->Now();
  for (const PersistedWorker& w : state.workers) {
    workers_.Register(WorkerInfo{.id = w.id,
                                 .host = w.host,
                                 .port = w.port,
                                 .ui_port = w.ui_port,
                                 .cores = w.cores,
                                 .memory_mb = w.memory_mb,
                                 .last_heartbeat = now,
                                 .token = w.token});
    workers_.Find(w.id)->state = WorkerState::kUnknown;
  }
  for (const PersistedApp& a : state.apps) {
    if (apps_.FindActive(a.id) != nullptr) continue;
    Application& app = apps_.Readd(
        a.id, a.request,
        std::chrono::system_clock::time_point(std::chrono::milliseconds(a.start_ms)), now);
    app.token = a.token;
    app.recovered = true;
    app.next_executor_id = a.next_executor_id;
  }
  for (const PersistedDriver& p : state.drivers) {
    if (drivers_.FindActive(p.id) != nullptr) continue;
    DriverInfo& d = drivers_.Readd(
        p.id, p.request,
        std::chrono::system_clock::time_point(std::chrono::milliseconds(p.submit_ms)));
    d.worker_id = p.worker_id;
    d.launches = p.launches;
    d.relaunches = p.relaunches;
    d.app_id = p.app_id;
    // RUNNING: its worker reports it when it registers again (or is lost); a relaunch
    // that was waiting is due now.
    d.state = p.state == "RUNNING"     ? DriverState::kRunning
              : p.state == "SUBMITTED" ? DriverState::kSubmitted
                                       : DriverState::kRelaunching;
    d.relaunch_at = now;
    if (d.state == DriverState::kRunning && workers_.Find(p.worker_id) == nullptr) {
      DriverRunEndedLocked(d, DriverState::kError,
                           StrCat("its worker ", p.worker_id,
                                  " was not known after the master "
                                  "restarted"));
    }
  }
  spdlog::info("recovered {} worker(s), {} application(s) and {} driver(s) from {}",
               state.workers.size(), state.apps.size(), state.drivers.size(),
               options_.store != nullptr ? options_.store->path() : "");
}

}  // namespace kiln::master
