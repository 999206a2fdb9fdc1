#include "worker/executor_launcher.h"

#include <set>

#include "common/files.h"
#include "common/master_url.h"
#include "common/status.h"
#include "common/strings.h"
#include "common/subprocess.h"
#include "spdlog/spdlog.h"
#include "worker/executor_argv.h"
#include "worker/runtime/shuffle_files.h"

namespace kiln::worker {

absl::Status ValidateLaunchRequest(const proto::LaunchExecutorRequest& r) {
  if (!runtime::IsSafePathComponent(r.app_id())) {
    return absl::InvalidArgumentError(StrCat("invalid app id '", r.app_id(), "'"));
  }
  if (r.executor_id() < 0) {
    return absl::InvalidArgumentError(StrCat("invalid executor id ", r.executor_id()));
  }
  if (r.cores() <= 0 || r.memory_mb() <= 0) {
    return absl::InvalidArgumentError(StrCat("executor ", r.executor_id(), " of app ", r.app_id(),
                                             " needs cores > 0 and memory > 0, got ", r.cores(),
                                             " cores and ", r.memory_mb(), " MiB"));
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
    : options_(std::move(options)), table_(table), binaries_(binaries), reporter_(reporter) {}

ExecutorLauncher::~ExecutorLauncher() { Stop(); }

void ExecutorLauncher::Start() {
  for (int i = 0; i < std::max(1, options_.threads); ++i) {
    threads_.emplace_back([this] { Run(); });
  }
}

void ExecutorLauncher::Close() {
  std::deque<proto::LaunchExecutorRequest> dropped;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    dropped.swap(queue_);
  }
  for (const auto& r : dropped) {
    table_->EndLaunch(r.app_id(), r.executor_id());
    reporter_->Report(r.app_id(), r.executor_id(), proto::EXECUTOR_KILLED,
                      "worker shutting down before the executor started");
  }
}

void ExecutorLauncher::Stop() {
  Close();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

absl::Status ExecutorLauncher::Submit(const proto::LaunchExecutorRequest& request) {
  RETURN_IF_ERROR(ValidateLaunchRequest(request));
  // One critical section, so that a launch is either queued before Close() (and dropped
  // by it) or refused.
  absl::MutexLock lock(&mu_);
  if (stopping_) return absl::UnavailableError("worker is shutting down");
  RETURN_IF_ERROR(table_->BeginLaunch({request.app_id(), request.executor_id(), request.cores(),
                                       request.memory_mb()}));
  queue_.push_back(request);
  return absl::OkStatus();
}

void ExecutorLauncher::Run() {
  while (true) {
    proto::LaunchExecutorRequest request;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !queue_.empty() || stopping_;
      };
      mu_.Await(absl::Condition(&ready));
      if (queue_.empty()) return;
      request = std::move(queue_.front());
      queue_.pop_front();
      launching_[{request.app_id(), request.executor_id()}] = request.binary_digest();
    }
    Launch(request);
    absl::MutexLock lock(&mu_);
    launching_.erase({request.app_id(), request.executor_id()});
  }
}

void ExecutorLauncher::CancelApp(const std::string& app_id) {
  CancelLaunches([&](const Key& key) { return key.first == app_id; },
                 "the application finished before the executor started");
}

void ExecutorLauncher::CancelExecutor(const std::string& app_id, int executor_id) {
  CancelLaunches([&](const Key& key) { return key == Key{app_id, executor_id}; },
                 "killed before it started");
}

void ExecutorLauncher::CancelLaunches(const std::function<bool(const Key&)>& match,
                                      const std::string& why) {
  std::vector<proto::LaunchExecutorRequest> dropped;
  std::set<std::string> cancel;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (match({it->app_id(), it->executor_id()})) {
        dropped.push_back(std::move(*it));
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    std::set<std::string> still_wanted;
    for (const auto& [key, digest] : launching_) {
      (match(key) ? cancel : still_wanted).insert(digest);
    }
    for (const std::string& digest : still_wanted) cancel.erase(digest);
  }
  for (const auto& r : dropped) {
    spdlog::info("app={} executor={}: launch dropped: {}", r.app_id(), r.executor_id(), why);
    table_->EndLaunch(r.app_id(), r.executor_id());
    reporter_->Report(r.app_id(), r.executor_id(), proto::EXECUTOR_KILLED, why);
  }
  if (options_.cancel_fetch) {
    for (const std::string& digest : cancel) {
      spdlog::info("cancelling the fetch of binary {}: {}", digest, why);
      options_.cancel_fetch(digest);
    }
  }
}

absl::StatusOr<pid_t> ExecutorLauncher::FetchAndSpawn(const proto::LaunchExecutorRequest& r,
                                                      const std::string& dir) {
  ASSIGN_OR_RETURN(std::string binary,
                   binaries_->Get({r.driver_address(), r.app_id()}, r.binary_digest()));
  RETURN_IF_ERROR(MakeDirs(dir));
  ExecutorCommand command{
      .binary_path = binary,
      .driver_address = r.driver_address(),
      .app_id = r.app_id(),
      .executor_id = r.executor_id(),
      .cores = r.cores(),
      .memory_mb = r.memory_mb(),
      .worker_id = options_.worker_id,
      .worker_host = options_.host,
      .worker_port = options_.port,
      .app_dir = StrCat(options_.work_dir, "/", r.app_id()),
  };
  SpawnOptions spawn;
  spawn.argv = BuildExecutorArgv(command);
  spawn.stdout_path = dir + "/stdout";
  spawn.stderr_path = dir + "/stderr";
  spawn.die_with_parent = true;
  // Last check before the fork (a kill after it is sent by SetRunning at once).
  if (table_->IsKillRequested(r.app_id(), r.executor_id())) {
    return absl::CancelledError("killed before it started");
  }
  return Spawn(spawn);
}

void ExecutorLauncher::Launch(const proto::LaunchExecutorRequest& r) {
  const std::string dir = StrCat(options_.work_dir, "/", r.app_id(), "/executor-", r.executor_id());
  spdlog::info("launching app={} executor={} cores={} memory_mb={} driver={}", r.app_id(),
               r.executor_id(), r.cores(), r.memory_mb(), r.driver_address());
  absl::StatusOr<pid_t> pid = FetchAndSpawn(r, dir);
  if (!pid.ok()) {
    // A cancelled fetch may end with the error of its last attempt.
    const bool killed = absl::IsCancelled(pid.status()) ||
                        table_->IsKillRequested(r.app_id(), r.executor_id());
    table_->EndLaunch(r.app_id(), r.executor_id());
    std::string message = StrCat("cannot launch executor: ", View(pid.status().message()));
    if (killed) {
      spdlog::info("app={} executor={} killed before it started", r.app_id(), r.executor_id());
    } else {
      spdlog::warn("app={} executor={}: {}", r.app_id(), r.executor_id(), message);
    }
    reporter_->Report(r.app_id(), r.executor_id(),
                      killed ? proto::EXECUTOR_KILLED : proto::EXECUTOR_FAILED, message);
    return;
  }
  spdlog::info("executor started app={} executor={} pid={} dir={}", r.app_id(), r.executor_id(),
               *pid, dir);
  // RUNNING is queued before the supervisor can see the pid, so the master never gets an
  // exit before RUNNING.
  reporter_->Report(r.app_id(), r.executor_id(), proto::EXECUTOR_RUNNING, StrCat("pid ", *pid));
  table_->SetRunning(r.app_id(), r.executor_id(), *pid, dir);
}

}  // namespace kiln::worker
