#include "worker/executor_launcher.h"

#include <set>

#include "common/executor_command.h"
#include "common/files.h"
#include "common/master_url.h"
#include "common/rpc_security.h"
#include "common/status.h"
#include "common/strings.h"
#include "common/subprocess.h"
#include "common/units.h"
#include "spdlog/spdlog.h"

extern char** environ;

namespace kiln::worker {

absl::Status ValidateLaunchRequest(const proto::LaunchExecutorRequest& r) {
  if (!IsAppId(r.app_id())) {
    return absl::InvalidArgumentError(StrCat("invalid app id '", r.app_id(), "'"));
  }
  if (r.executor_id() < 0) {
    return absl::InvalidArgumentError(StrCat("invalid executor id ", r.executor_id()));
  }
  if (r.cores() <= 0 || r.memory_mb() <= 0) {
    return absl::InvalidArgumentError(StrCat("executor ", r.executor_id(), " of app ", r.app_id(),
                                             " needs cores > 0 and memory > 0, got ", r.cores(),
                                             " cores and ", FormatMib(r.memory_mb())));
  }
  if (auto hp = ParseHostPort(r.driver_address()); !hp.ok()) {
    return Annotate(hp.status(), "invalid driver address");
  }
  if (!BinaryCache::IsValidDigest(r.binary_digest())) {
    return absl::InvalidArgumentError(StrCat("invalid binary digest '", r.binary_digest(), "'"));
  }
  return absl::OkStatus();
}

ExecutorLauncher::ExecutorLauncher(ExecutorLauncherOptions options, ExecutorTable* table,
                                   BinaryCache* binaries, StateReporter* reporter)
    : options_(std::move(options)),
      table_(table),
      binaries_(binaries),
      reporter_(reporter),
      standbys_(options_.cgroups != nullptr && options_.standby_executors > 0 &&
                        !options_.standby_helper.empty()
                    ? std::make_unique<StandbyExecutors>(
                          StandbyExecutorsOptions{.count = options_.standby_executors,
                                                  .helper = options_.standby_helper,
                                                  .cgroups = options_.cgroups})
                    : nullptr),
      queue_({.threads = std::max(1, options_.threads)},
             [this](std::vector<proto::LaunchExecutorRequest>& batch) {
               for (const auto& request : batch) Run(request);
             }) {}

ExecutorLauncher::~ExecutorLauncher() { Stop(); }

void ExecutorLauncher::Start() {
  if (standbys_ != nullptr) standbys_->Start();
  queue_.Start();
}

void ExecutorLauncher::Close() {
  Drop(queue_.Close(), "worker shutting down before the executor started");
}

void ExecutorLauncher::Stop() {
  Close();
  queue_.Stop();
  if (standbys_ != nullptr) standbys_->Stop();
}

absl::Status ExecutorLauncher::Submit(const proto::LaunchExecutorRequest& request) {
  RETURN_IF_ERROR(ValidateLaunchRequest(request));
  const Key key{request.app_id(), request.executor_id()};
  // One critical section: a launch is either in the table, in launching_ and queued
  // (before Close(), which drops it), or refused.
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(table_->BeginLaunch(
      {.app_id = request.app_id(),
       .executor_id = request.executor_id(),
       .cores = request.cores(),
       .memory_mb = request.memory_mb(),
       .memory_limit_bytes = request.memory_overhead_mb() > 0
                                 ? (request.memory_mb() + request.memory_overhead_mb()) << 20
                                 : 0,
       .driver_address = request.driver_address(),
       .host = options_.host,
       .executor_token = request.executor_token(),
       .app_ui_url = request.app_ui_url()}));
  launching_[key] = request.binary_digest();
  if (!queue_.Push(request)) {
    launching_.erase(key);
    table_->EndLaunch(request.app_id(), request.executor_id());
    return absl::UnavailableError("worker is shutting down");
  }
  return absl::OkStatus();
}

void ExecutorLauncher::Run(const proto::LaunchExecutorRequest& request) {
  Launch(request);
  absl::MutexLock lock(&mu_);
  launching_.erase({request.app_id(), request.executor_id()});
}

void ExecutorLauncher::CancelApp(const std::string& app_id) {
  CancelLaunches([&](const Key& key) { return key.first == app_id; },
                 "its application ended before the executor started");
}

void ExecutorLauncher::CancelExecutor(const std::string& app_id, int executor_id) {
  CancelLaunches(
      [&](const Key& key) {
        return key == Key{app_id, executor_id};
      },
      "killed before it started");
}

void ExecutorLauncher::CancelLaunches(const std::function<bool(const Key&)>& match,
                                      const std::string& why) {
  Drop(queue_.RemoveIf([&](const proto::LaunchExecutorRequest& r) {
    return match({r.app_id(), r.executor_id()});
  }),
       why);
  std::set<std::string> cancel;
  {
    absl::MutexLock lock(&mu_);
    std::set<std::string> still_wanted;
    for (const auto& [key, digest] : launching_) {
      (match(key) ? cancel : still_wanted).insert(digest);
    }
    for (const std::string& digest : still_wanted) cancel.erase(digest);
  }
  if (options_.cancel_fetch) {
    for (const std::string& digest : cancel) {
      spdlog::info("cancelling the fetch of binary {}: {}", digest, why);
      options_.cancel_fetch(digest);
    }
  }
}

proto::ExecutorState ExecutorLauncher::EndedBeforeStart(const std::string& app_id) const {
  return table_->IsAppFinished(app_id) ? proto::EXECUTOR_EXITED : proto::EXECUTOR_KILLED;
}

void ExecutorLauncher::Drop(const std::vector<proto::LaunchExecutorRequest>& dropped,
                            const std::string& why) {
  {
    absl::MutexLock lock(&mu_);
    for (const auto& r : dropped) launching_.erase({r.app_id(), r.executor_id()});
  }
  for (const auto& r : dropped) {
    spdlog::info("app={} executor={}: launch dropped: {}", r.app_id(), r.executor_id(), why);
    table_->EndLaunch(r.app_id(), r.executor_id());
    reporter_->Report(r.app_id(), r.executor_id(), EndedBeforeStart(r.app_id()), why);
  }
}

absl::StatusOr<ExecutorLauncher::Spawned> ExecutorLauncher::FetchAndSpawn(
    const proto::LaunchExecutorRequest& r, const std::string& dir) {
  ASSIGN_OR_RETURN(std::string binary, binaries_->Get({.driver_address = r.driver_address(),
                                                       .app_id = r.app_id(),
                                                       .executor_id = r.executor_id(),
                                                       .executor_token = r.executor_token(),
                                                       .size = r.binary_size()},
                                                      r.binary_digest()));
  RETURN_IF_ERROR(MakeDirs(dir));
  ExecutorCommand command{
      .binary_path = binary,
      .driver_address = r.driver_address(),
      .app_id = r.app_id(),
      .executor_id = r.executor_id(),
      .cores = r.cores(),
      .memory_mb = r.memory_mb(),
      .worker_id = options_.worker_id,
      .host = options_.host,
      .shuffle_address = StrCat(options_.host, ":", options_.port),
      .app_dir = StrCat(options_.work_dir, "/", r.app_id()),
      .credentials_on_stdin = true,
  };
  SpawnOptions spawn;
  spawn.argv = BuildExecutorArgv(command);
  spawn.stdout_path = dir + "/stdout";
  spawn.stderr_path = dir + "/stderr";
  spawn.die_with_parent = true;
  rpc::Credentials credentials = options_.executor_credentials;
  credentials.executor_token = r.executor_token();
  spawn.stdin_data = rpc::EncodeCredentials(credentials);
  spawn.env = rpc::EnvironmentWithoutSecret(environ);
  if (spawn.env.empty()) spawn.env.push_back("PATH=/usr/bin:/bin");  // empty = inherit
  spawn.env.push_back(StrCat(kExecutorLogUrlEnv, "=http://", options_.host, ":", options_.ui_port,
                             "/logs/", r.app_id(), "/executor-", r.executor_id()));
  spawn.env.push_back(StrCat(kExecutorBinaryDigestEnv, "=", r.binary_digest()));
  // Last check before the fork (a kill after it is sent by SetRunning at once).
  if (table_->IsKillRequested(r.app_id(), r.executor_id())) {
    return absl::CancelledError("killed before it started");
  }
  Spawned spawned;
  if (options_.cgroups != nullptr && r.memory_overhead_mb() > 0) {
    const int64_t limit = (r.memory_mb() + r.memory_overhead_mb()) << 20;
    if (std::optional<Spawned> started = StartStandby(r, spawn, limit)) return *started;
    spawned.cgroup = StrCat(r.app_id(), "-executor-", r.executor_id());
    ASSIGN_OR_RETURN(spawn.cgroup_procs, options_.cgroups->Create(spawned.cgroup, limit));
  }
  absl::StatusOr<pid_t> pid = Spawn(spawn);
  if (!pid.ok()) {
    if (!spawned.cgroup.empty()) (void)options_.cgroups->Remove(spawned.cgroup);
    return pid.status();
  }
  forked_.fetch_add(1, std::memory_order_relaxed);
  spawned.pid = *pid;
  return spawned;
}

std::optional<ExecutorLauncher::Spawned> ExecutorLauncher::StartStandby(
    const proto::LaunchExecutorRequest& r, const SpawnOptions& spawn, int64_t limit_bytes) {
  if (standbys_ == nullptr) return std::nullopt;
  std::optional<StandbyExecutors::Taken> standby = standbys_->Take();
  if (!standby) return std::nullopt;
  absl::Status started = options_.cgroups->SetLimit(standby->cgroup, limit_bytes);
  if (started.ok()) started = standby->child->Start(spawn);
  if (!started.ok()) {
    spdlog::warn("app={} executor={}: not started in standby process {} ({}); forking one",
                 r.app_id(), r.executor_id(), standby->child->pid(), View(started.message()));
    standbys_->Discard(*std::move(standby));
    return std::nullopt;
  }
  from_standby_.fetch_add(1, std::memory_order_relaxed);
  return Spawned{.pid = standby->child->pid(), .cgroup = standby->cgroup};
}

LaunchCounts ExecutorLauncher::Counts() const {
  return {.from_standby = from_standby_.load(std::memory_order_relaxed),
          .forked = forked_.load(std::memory_order_relaxed),
          .standby_ready = standbys_ != nullptr ? standbys_->ready() : 0};
}

void ExecutorLauncher::Launch(const proto::LaunchExecutorRequest& r) {
  if (table_->IsKillRequested(r.app_id(), r.executor_id())) {  // killed while queued
    Drop({r}, "killed before it started");
    return;
  }
  const std::string dir = ExecutorDir(StrCat(options_.work_dir, "/", r.app_id()), r.executor_id());
  spdlog::info("launching app={} executor={} cores={} memory=\"{}\" driver={}", r.app_id(),
               r.executor_id(), r.cores(), FormatMib(r.memory_mb()), r.driver_address());
  absl::StatusOr<Spawned> spawned = FetchAndSpawn(r, dir);
  if (!spawned.ok()) {
    // A cancelled fetch may end with the error of its last attempt.
    const bool killed =
        absl::IsCancelled(spawned.status()) || table_->IsKillRequested(r.app_id(), r.executor_id());
    table_->EndLaunch(r.app_id(), r.executor_id());
    const proto::ExecutorState state =
        killed ? EndedBeforeStart(r.app_id()) : proto::EXECUTOR_FAILED;
    const std::string message =
        state == proto::EXECUTOR_EXITED
            ? "its application ended before the executor started"
            : StrCat("cannot launch executor: ", View(spawned.status().message()));
    if (killed) {
      spdlog::info("app={} executor={} killed before it started", r.app_id(), r.executor_id());
    } else {
      spdlog::warn("app={} executor={}: {}", r.app_id(), r.executor_id(), message);
    }
    reporter_->Report(r.app_id(), r.executor_id(), state, message);
    return;
  }
  spdlog::info("executor started app={} executor={} pid={} dir={}{}", r.app_id(), r.executor_id(),
               spawned->pid, dir,
               spawned->cgroup.empty()
                   ? ""
                   : StrCat(" cgroup=", options_.cgroups->parent(), "/", spawned->cgroup));
  // RUNNING follows once the executor has reached its driver (the supervisor sees it).
  table_->SetRunning(r.app_id(), r.executor_id(), spawned->pid, dir, spawned->cgroup);
}

}  // namespace kiln::worker
