// The Master's drivers (kiln-submit --deploy-mode cluster): submission, placement on a
// worker, the states workers report, supervision (relaunch with backoff), kill, and what
// a (re-)registering or lost worker means for the drivers on it. See master.h; the
// *Locked functions run under the Master's mutex.

#include <algorithm>
#include <set>
#include <utility>

#include "common/status.h"
#include "common/strings.h"
#include "common/units.h"
#include "master/master.h"
#include "master/validation.h"
#include "spdlog/spdlog.h"

namespace kiln::master {
namespace {

// The wait before relaunch number `n` (1, 2, ...): doubling from the first, capped.
std::chrono::milliseconds RelaunchBackoff(int n) {
  std::chrono::milliseconds wait = Master::kRelaunchBackoff;
  for (int i = 1; i < n && wait < Master::kMaxRelaunchBackoff; ++i) wait *= 2;
  return std::min(wait, Master::kMaxRelaunchBackoff);
}

}  // namespace

absl::StatusOr<std::string> Master::SubmitDriver(const DriverRequest& request) {
  RETURN_IF_ERROR(ValidateDriverRequest(request));
  Commands commands;
  std::string id;
  {
    absl::MutexLock lock(&mu_);
    for (const DriverInfo* known : drivers_.ActiveView()) {
      if (!request.request_id.empty() && known->request.request_id == request.request_id) {
        return known->id;  // a retry whose first attempt got through
      }
    }
    // With no worker ALIVE yet, it waits for them.
    const std::optional<WorkerRegistry::Largest> largest = workers_.LargestAlive();
    if (largest && request.cores > largest->cores) {
      return absl::FailedPreconditionError(
          StrCat("a driver of ", request.cores,
                 " cores asked (kiln.driver.cores), but the most cores any worker has is ",
                 largest->cores, ": it could never start"));
    }
    if (largest && request.memory_mb > largest->memory_mb) {
      return absl::FailedPreconditionError(
          StrCat("a driver of ", FormatMib(request.memory_mb),
                 " asked (kiln.driver.memory), but the most memory any worker offers is ",
                 FormatMib(largest->memory_mb), ": it could never start"));
    }
    DriverInfo& driver = drivers_.Add(request, WallNow());
    id = driver.id;
    spdlog::info("driver submitted driver={} name={} cores={} memory=\"{}\" supervise={}", id,
                 request.name, request.cores, FormatMib(request.memory_mb), request.supervise);
    ScheduleLocked(&commands);
  }
  Dispatch(std::move(commands));
  return id;
}

void Master::ScheduleDriversLocked(Commands* out) {
  const auto now = options_.clock->Now();
  for (DriverInfo* d : drivers_.Active()) {
    if (d->state != DriverState::kSubmitted && d->state != DriverState::kRelaunching) continue;
    if (d->state == DriverState::kRelaunching && now < d->relaunch_at) continue;
    // The worker with the most free cores that can hold it (then the most free memory):
    // drivers spread over the cluster.
    WorkerInfo* best = nullptr;
    for (WorkerInfo* w : workers_.Alive()) {
      if (w->cores_free() < d->request.cores || w->memory_free_mb() < d->request.memory_mb) {
        continue;
      }
      if (best == nullptr || w->cores_free() > best->cores_free() ||
          (w->cores_free() == best->cores_free() && w->memory_free_mb() > best->memory_free_mb())) {
        best = w;
      }
    }
    if (best == nullptr) continue;  // it waits; a later, smaller driver may fit
    workers_.Allocate(best->id, d->request.cores, d->request.memory_mb);
    d->state = DriverState::kRunning;
    d->worker_id = best->id;
    ++d->launches;
    Command c = MakeCommand(Command::Kind::kLaunchDriver, *best, "");
    c.driver = DriverLaunch{.driver_id = d->id,
                            .attempt = d->attempt(),
                            .name = d->request.name,
                            .cores = d->request.cores,
                            .memory_mb = d->request.memory_mb,
                            .binary_digest = d->request.binary_digest,
                            .binary_size = d->request.binary_size,
                            .args = d->request.args,
                            .conf = d->request.conf};
    out->push_back(std::move(c));
    spdlog::info("launching driver={} attempt={} worker={} cores={} memory=\"{}\"", d->id,
                 d->attempt(), best->id, d->request.cores, FormatMib(d->request.memory_mb));
  }
}

void Master::ReleaseDriverLocked(const DriverInfo& driver) {
  const WorkerInfo* w = workers_.Find(driver.worker_id);
  if (driver.state != DriverState::kRunning || w == nullptr || w->state != WorkerState::kAlive) {
    return;  // a lost worker's grants left with it
  }
  workers_.Release(driver.worker_id, driver.request.cores, driver.request.memory_mb);
}

void Master::EndDriverLocked(DriverInfo& driver, DriverState state, const std::string& why) {
  driver.message = why;
  const std::string digest = driver.request.binary_digest;
  auto log = state == DriverState::kFinished ? spdlog::level::info : spdlog::level::warn;
  spdlog::log(log, "driver ended driver={} state={} reason={}", driver.id, DriverStateName(state),
              EscapeControl(why));
  ++counters_.drivers_ended[DriverStateName(state)];
  drivers_.Complete(driver.id, state, WallNow());  // `driver` moves: not touched after this
  if (options_.binary_unused && !digest.empty() && !drivers_.UsesBinary(digest)) {
    options_.binary_unused(digest);
  }
}

void Master::DriverRunEndedLocked(DriverInfo& driver, DriverState final_state,
                                  const std::string& why) {
  const int max = driver.request.max_relaunches;
  if (!driver.request.supervise || driver.adopted) {
    EndDriverLocked(driver, final_state, why);
    return;
  }
  if (driver.relaunches >= max) {
    EndDriverLocked(driver, final_state,
                    StrCat(why, "; not relaunched: ", max,
                           " relaunch(es) spent (kiln.driver.supervise.maxRelaunches)"));
    return;
  }
  ++driver.relaunches;
  const std::chrono::milliseconds wait = RelaunchBackoff(driver.relaunches);
  driver.state = DriverState::kRelaunching;
  driver.relaunch_at = options_.clock->Now() + wait;
  driver.message = StrCat(why, "; relaunch ", driver.relaunches, " of ", max, " in ",
                          FormatMillis(wait.count()));
  spdlog::warn("driver relaunching driver={} reason={}", driver.id, EscapeControl(driver.message));
}

absl::Status Master::DriverStateChanged(const DriverStateReport& report) {
  Commands commands;
  {
    absl::MutexLock lock(&mu_);
    DriverInfo* d = drivers_.FindActive(report.driver_id);
    // Of an ended driver, another worker or an earlier run: old news.
    if (d == nullptr || d->state != DriverState::kRunning || d->worker_id != report.worker_id ||
        (!d->adopted && d->attempt() != report.attempt)) {
      spdlog::debug("driver report ignored driver={} worker={} attempt={}", report.driver_id,
                    report.worker_id, report.attempt);
      return absl::OkStatus();
    }
    switch (report.state) {
      case DriverState::kRunning:
        spdlog::info("driver running driver={} worker={} attempt={}", d->id, d->worker_id,
                     report.attempt);
        return absl::OkStatus();
      case DriverState::kFinished:
      case DriverState::kFailed:
        d->exited = true;
        d->exit_code = report.exit_code;
        break;
      case DriverState::kKilled:
      case DriverState::kError:
        break;
      case DriverState::kSubmitted:
      case DriverState::kRelaunching:
        return absl::InvalidArgumentError(StrCat("DriverStateChanged: state ",
                                                 DriverStateName(report.state),
                                                 " is not one a worker reports"));
    }
    ReleaseDriverLocked(*d);
    const std::string why =
        report.message.empty() ? StrCat("exited with status ", report.exit_code) : report.message;
    if (report.state == DriverState::kFinished || report.state == DriverState::kKilled) {
      EndDriverLocked(*d, report.state, why);
    } else {
      DriverRunEndedLocked(*d, report.state, why);
    }
    ScheduleLocked(&commands);
  }
  Dispatch(std::move(commands));
  return absl::OkStatus();
}

absl::StatusOr<DriverState> Master::KillDriver(const std::string& driver_id) {
  Commands commands;
  {
    absl::MutexLock lock(&mu_);
    DriverInfo* d = drivers_.FindActive(driver_id);
    if (d == nullptr) {
      if (const DriverInfo* ended = drivers_.FindCompleted(driver_id)) {
        return absl::FailedPreconditionError(StrCat("driver ", driver_id, " had already ended ",
                                                    DriverStateName(ended->state),
                                                    ": nothing to kill"));
      }
      return absl::NotFoundError(StrCat("no driver ", driver_id, " on this master"));
    }
    if (d->state == DriverState::kRunning) {
      const WorkerInfo* w = workers_.Find(d->worker_id);
      if (w != nullptr && w->state == WorkerState::kAlive) {
        Command c = MakeCommand(Command::Kind::kKillDriver, *w, "");
        c.driver.driver_id = d->id;
        commands.push_back(std::move(c));
      }
      ReleaseDriverLocked(*d);
    }
    EndDriverLocked(*d, DriverState::kKilled, "killed on request (kiln-submit --kill)");
    ScheduleLocked(&commands);
  }
  Dispatch(std::move(commands));
  return DriverState::kKilled;
}

bool Master::MayFetchDriverBinary(const std::string& worker_id, const std::string& digest) const {
  absl::MutexLock lock(&mu_);
  for (const DriverInfo* d : drivers_.ActiveView()) {
    if (d->state == DriverState::kRunning && d->worker_id == worker_id &&
        d->request.binary_digest == digest) {
      return true;
    }
  }
  return false;
}

void Master::DriversLostLocked(const std::string& worker_id, const std::string& why) {
  for (DriverInfo* d : drivers_.Active()) {
    if (d->state != DriverState::kRunning || d->worker_id != worker_id) continue;
    DriverRunEndedLocked(*d, DriverState::kError, why);  // its grant leaves with the worker
  }
}

void Master::ReconcileDriversLocked(const WorkerRegistration& r, Commands* out) {
  WorkerInfo* worker = workers_.Find(r.id);
  std::set<std::string> reported;
  for (const ReportedDriver& rd : r.drivers) {
    reported.insert(rd.driver_id);
    DriverInfo* d = drivers_.FindActive(rd.driver_id);
    const bool fits = rd.cores <= worker->cores_free() && rd.memory_mb <= worker->memory_free_mb();
    if (d == nullptr && drivers_.FindCompleted(rd.driver_id) == nullptr && fits) {
      // Never known here: this master restarted without a recovery directory while it
      // ran. It runs on; it is not relaunched (its binary and settings are not here).
      DriverInfo& adopted = drivers_.Readd(
          rd.driver_id,
          DriverRequest{.name = "(recovered)", .cores = rd.cores, .memory_mb = rd.memory_mb},
          WallNow());
      adopted.adopted = true;
      adopted.state = DriverState::kRunning;
      adopted.worker_id = r.id;
      adopted.launches = 1;
      workers_.Allocate(r.id, rd.cores, rd.memory_mb);
      spdlog::info("driver known from worker {} only driver={}: taken in", r.id, rd.driver_id);
      continue;
    }
    const bool placed_here =
        d != nullptr && d->state == DriverState::kRunning && d->worker_id == r.id;
    if (placed_here && fits) {
      workers_.Allocate(r.id, d->request.cores, d->request.memory_mb);
      continue;
    }
    spdlog::info("stopping driver not placed here driver={} worker={}", rd.driver_id, r.id);
    Command c = MakeCommand(Command::Kind::kKillDriver, *worker, "");
    c.driver.driver_id = rd.driver_id;
    out->push_back(std::move(c));
  }
  for (DriverInfo* d : drivers_.Active()) {
    if (d->state != DriverState::kRunning || d->worker_id != r.id || reported.count(d->id) > 0) {
      continue;
    }
    DriverRunEndedLocked(*d, DriverState::kError,
                         StrCat("it was not running when its worker ", r.id, " registered again"));
  }
}

DriverView Master::DriverViewLocked(const DriverInfo& d) const {
  DriverView v;
  v.id = d.id;
  v.name = d.request.name;
  v.state = DriverStateName(d.state);
  v.worker_id = d.worker_id;
  if (const WorkerInfo* w = workers_.Find(d.worker_id)) v.worker_address = w->address();
  v.app_id = d.app_id;
  v.message = d.message;
  v.exit_code = d.exit_code;
  v.exited = d.exited;
  v.relaunches = d.relaunches;
  v.supervise = d.request.supervise;
  v.cores = d.request.cores;
  v.memory_mb = d.request.memory_mb;
  v.submit_ms = EpochMillis(d.submit_wall);
  const auto end = IsFinal(d.state) ? d.end_wall : WallNow();
  v.duration_ms = std::max<int64_t>(0, EpochMillis(end) - v.submit_ms);
  return v;
}

absl::StatusOr<DriverView> Master::DriverStatus(const std::string& driver_id) const {
  absl::MutexLock lock(&mu_);
  const DriverInfo* d = drivers_.FindActive(driver_id);
  if (d == nullptr) d = drivers_.FindCompleted(driver_id);
  if (d == nullptr) return absl::NotFoundError(StrCat("no driver ", driver_id, " on this master"));
  return DriverViewLocked(*d);
}

}  // namespace kiln::master
