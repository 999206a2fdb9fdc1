#include "worker/driver_runner.h"

#include <signal.h>
#include <unistd.h>

#include <optional>
#include <utility>

#include "common/check.h"
#include "common/files.h"
#include "common/status.h"
#include "common/strings.h"
#include "common/units.h"
#include "common/wait.h"
#include "spdlog/spdlog.h"

namespace kiln::worker {
namespace {

int64_t DriverUnixMillisNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

DriverRunner::DriverRunner(DriverRunnerOptions options, BinaryCache* binaries,
                           ProcessControl* processes)
    : options_(std::move(options)),
      binaries_(binaries),
      processes_(processes),
      reports_({},
               [this](std::vector<proto::DriverStateChangedRequest>& batch) {
                 for (const auto& report : batch) Send(report);
               }),
      launches_({.threads = std::max(1, options_.threads)},
                [this](std::vector<proto::LaunchDriverRequest>& batch) {
                  for (const auto& request : batch) Run(request);
                }),
      loop_(options_.tick, [this] { Tick(); }) {}

DriverRunner::~DriverRunner() { Stop(); }

void DriverRunner::Start() {
  reports_.Start();
  launches_.Start();
  loop_.Start();
}

void DriverRunner::Stop() {
  int running = 0;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (const proto::LaunchDriverRequest& r :
         launches_.RemoveIf([](const proto::LaunchDriverRequest&) { return true; })) {
      drivers_.erase(r.driver_id());
    }
    for (auto& [id, entry] : drivers_) {
      KillLocked(entry);
      if (entry.phase == Phase::kRunning) ++running;
    }
  }
  loop_.Stop();
  if (running > 0) spdlog::info("stopping {} drivers", running);
  // Reaped without reports (stopping_). The launch threads must outlive the drivers they
  // forked: their exit would SIGKILL them at once.
  WaitFor(
      [this] {
        Tick();
        return !HasProcesses();
      },
      options_.kill_grace + std::chrono::seconds(5));
  launches_.Stop();
  const size_t unsent = reports_.Drain(options_.drain_timeout).size();
  if (unsent > 0) spdlog::warn("dropping {} driver state reports: shutting down", unsent);
}

absl::Status DriverRunner::Launch(const proto::LaunchDriverRequest& request) {
  ASSIGN_OR_RETURN(proto::LaunchDriverRequest r, ValidateDriverLaunch(request, options_.host));
  const std::string id = r.driver_id();
  absl::MutexLock lock(&mu_);
  if (stopping_) return absl::UnavailableError("worker is shutting down");
  if (drivers_.contains(id)) {
    return absl::AlreadyExistsError(
        StrCat("driver ", id, " is already launching or running on this worker"));
  }
  drivers_[id].request = r;
  if (!launches_.Push(std::move(r))) {
    drivers_.erase(id);
    return absl::UnavailableError("worker is shutting down");
  }
  return absl::OkStatus();
}

void DriverRunner::Kill(const std::string& driver_id) {
  absl::MutexLock lock(&mu_);
  auto it = drivers_.find(driver_id);
  if (it == drivers_.end() || it->second.kill_requested) return;
  Entry& entry = it->second;
  KillLocked(entry);
  // A process that is or may be spawning is reported when reaped.
  if (entry.phase != Phase::kQueued && entry.phase != Phase::kFetching) return;
  entry.ended_reported = true;
  if (!stopping_) ReportLocked(entry.request, proto::DRIVER_KILLED, "killed before it started");
  // Else a launch thread has it and drops it (a fetch under way is not cancelled).
  auto same = [&](const proto::LaunchDriverRequest& r) { return r.driver_id() == driver_id; };
  if (!launches_.RemoveIf(same).empty()) drivers_.erase(it);
}

void DriverRunner::KillLocked(Entry& entry) {
  entry.kill_requested = true;
  if (entry.pid == 0 || entry.sigterm_sent) return;  // Run signals it once spawned
  processes_->Signal(entry.pid, SIGTERM);
  entry.sigterm_sent = true;
  entry.kill_deadline = options_.clock->Now() + options_.kill_grace;
}

void DriverRunner::Run(const proto::LaunchDriverRequest& r) {
  const std::string& id = r.driver_id();
  {
    absl::MutexLock lock(&mu_);
    auto it = drivers_.find(id);
    if (it == drivers_.end()) return;
    if (stopping_ || it->second.kill_requested) {  // Kill() reported it
      drivers_.erase(it);
      return;
    }
    it->second.phase = Phase::kFetching;
  }
  spdlog::info("launching driver={} attempt={} name=\"{}\" cores={} memory=\"{}\"", id, r.attempt(),
               r.name(), r.cores(), FormatMib(r.memory_mb()));
  absl::StatusOr<pid_t> pid = FetchAndSpawn(r);
  std::string problem;
  {
    absl::MutexLock lock(&mu_);
    auto it = drivers_.find(id);
    KILN_CHECK(it != drivers_.end(), "only its launch thread removes a launching driver");
    Entry& entry = it->second;
    if (!pid.ok()) {
      const bool cancelled = stopping_ || entry.kill_requested;
      if (!cancelled) problem = StrCat("cannot launch driver: ", View(pid.status().message()));
      if (!stopping_ && !entry.ended_reported) {
        ReportLocked(r, cancelled ? proto::DRIVER_KILLED : proto::DRIVER_ERROR,
                     cancelled ? "killed before it started" : problem);
      }
      drivers_.erase(it);
    } else {
      entry.pid = *pid;
      entry.phase = Phase::kRunning;
      entry.start_unix_ms = DriverUnixMillisNow();
      // Queued before the loop can reap it: the master never hears of its end first.
      if (!stopping_) {
        ReportLocked(r, proto::DRIVER_RUNNING,
                     StrCat("started on worker ", options_.worker_id, " (pid ", *pid, ")"));
      }
      if (stopping_ || entry.kill_requested) KillLocked(entry);
    }
  }
  if (pid.ok()) {
    spdlog::info("driver started driver={} attempt={} pid={} dir={}/{}", id, r.attempt(), *pid,
                 options_.work_dir, id);
  } else if (!problem.empty()) {
    spdlog::warn("driver={} attempt={}: {}", id, r.attempt(), problem);
  } else {
    spdlog::info("driver={} attempt={} killed before it started", id, r.attempt());
  }
}

absl::StatusOr<pid_t> DriverRunner::FetchAndSpawn(const proto::LaunchDriverRequest& r) {
  ASSIGN_OR_RETURN(
      std::string cached,
      binaries_->Get({.size = r.binary_size(), .from_master = true}, r.binary_digest()));
  const std::string dir = StrCat(options_.work_dir, "/", r.driver_id());
  ASSIGN_OR_RETURN(std::string binary, PrepareDriverDir(dir, r.attempt(), cached));
  const SpawnOptions spawn = DriverSpawnOptions(r, dir, binary, options_.credentials);
  {
    // Last check before the fork; a kill after it is sent once the pid is known.
    absl::MutexLock lock(&mu_);
    Entry& entry = drivers_.find(r.driver_id())->second;
    if (stopping_ || entry.kill_requested) return absl::CancelledError("killed before it started");
    entry.phase = Phase::kSpawning;
  }
  return Spawn(spawn);
}

void DriverRunner::Tick() {
  std::vector<Reaped> reaped;
  {
    absl::MutexLock lock(&mu_);
    const auto now = options_.clock->Now();
    for (auto it = drivers_.begin(); it != drivers_.end();) {
      Entry& entry = it->second;
      std::optional<ExitInfo> exit;
      if (entry.phase == Phase::kRunning) exit = processes_->TryWait(entry.pid);
      if (exit.has_value()) {
        reaped.push_back(
            {entry.request, *exit, entry.kill_requested, entry.start_unix_ms, !stopping_});
        it = drivers_.erase(it);
        continue;
      }
      if (entry.phase == Phase::kRunning && entry.kill_requested && !entry.sigkill_sent &&
          now >= entry.kill_deadline) {
        processes_->Signal(entry.pid, SIGKILL);
        entry.sigkill_sent = true;
      }
      ++it;
    }
  }
  if (!reaped.empty()) ReportEnds(reaped);
}

void DriverRunner::ReportEnds(const std::vector<Reaped>& reaped) {
  std::vector<DriverEnd> ends;
  for (const Reaped& r : reaped) {
    const std::string& id = r.request.driver_id();
    const std::string dir = StrCat(options_.work_dir, "/", id);
    unlink(StrCat(dir, "/", kDriverBinaryName).c_str());  // the cache keeps it, if it may
    if (!r.report) {
      spdlog::info("driver stopped driver={} attempt={} ({})", id, r.request.attempt(),
                   r.exit.ToString());
      ends.emplace_back();
      continue;
    }
    ends.push_back(DescribeDriverExit(r.exit, r.killed, dir));
    spdlog::info("driver ended driver={} attempt={} state={} ({})", id, r.request.attempt(),
                 DriverStateName(ends.back().state), r.exit.ToString());
    if (ends.back().state == proto::DRIVER_FAILED) {
      spdlog::warn("driver={} attempt={} failed: {}", id, r.request.attempt(), ends.back().message);
    }
  }
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < reaped.size(); ++i) {
    if (!reaped[i].report) continue;
    ReportLocked(reaped[i].request, ends[i].state, ends[i].message, reaped[i].exit.code(),
                 reaped[i].start_unix_ms);
  }
}

bool DriverRunner::HasProcesses() const {
  absl::MutexLock lock(&mu_);
  for (const auto& [id, entry] : drivers_) {
    if (entry.phase == Phase::kSpawning || entry.phase == Phase::kRunning) return true;
  }
  return false;
}

void DriverRunner::ReportLocked(const proto::LaunchDriverRequest& r, proto::DriverState state,
                                const std::string& message, int exit_code, int64_t start_unix_ms) {
  proto::DriverStateChangedRequest report;
  report.set_worker_id(options_.worker_id);
  report.set_worker_token(options_.worker_token);
  report.set_driver_id(r.driver_id());
  report.set_attempt(r.attempt());
  report.set_state(state);
  report.set_message(message);
  report.set_exit_code(exit_code);
  reports_.Push(std::move(report));
  if (state == proto::DRIVER_RUNNING) return;
  finished_.push_back({.driver_id = r.driver_id(),
                       .attempt = r.attempt(),
                       .name = r.name(),
                       .cores = r.cores(),
                       .memory_mb = r.memory_mb(),
                       .state = DriverStateName(state),
                       .start_unix_ms = start_unix_ms,
                       .exit_code = exit_code,
                       .message = message});
  if (finished_.size() > kRetainedFinished) finished_.pop_front();
}

void DriverRunner::Send(const proto::DriverStateChangedRequest& report) {
  absl::Status status = options_.send(report);
  if (!status.ok()) {
    spdlog::warn("cannot report driver={} attempt={} state={}: {}", report.driver_id(),
                 report.attempt(), DriverStateName(report.state()), View(status.message()));
  }
}

std::vector<proto::RunningDriver> DriverRunner::Running() const {
  std::vector<proto::RunningDriver> out;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, entry] : drivers_) {
    if (entry.ended_reported) continue;
    proto::RunningDriver& d = out.emplace_back();
    d.set_driver_id(id);
    d.set_cores(entry.request.cores());
    d.set_memory_mb(entry.request.memory_mb());
  }
  return out;
}

DriverSnapshot DriverRunner::Snapshot() const {
  DriverSnapshot out;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, entry] : drivers_) {
    if (entry.ended_reported) continue;
    const proto::LaunchDriverRequest& r = entry.request;
    out.active.push_back({.driver_id = id,
                          .attempt = r.attempt(),
                          .name = r.name(),
                          .cores = r.cores(),
                          .memory_mb = r.memory_mb(),
                          .state = entry.phase == Phase::kRunning ? "RUNNING" : "LAUNCHING",
                          .pid = entry.pid,
                          .start_unix_ms = entry.start_unix_ms});
  }
  out.finished.assign(finished_.begin(), finished_.end());
  return out;
}

}  // namespace kiln::worker
