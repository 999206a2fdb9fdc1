// Master (master/master.h), its side effects: the commands its decisions produce
// (launch, kill, application finished), performed outside its lock through
// WorkerCommands. A launch that fails comes back as a failed executor.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "common/strings.h"
#include "master/master.h"
#include "spdlog/spdlog.h"

namespace kiln::master {

Master::Command Master::MakeCommand(Command::Kind kind, const WorkerInfo& worker,
                                    const std::string& app_id, int executor_id) {
  Command c;
  c.kind = kind;
  c.worker_id = worker.id;
  c.worker_address = worker.address();
  c.worker_token = worker.token;
  c.app_id = app_id;
  c.executor_id = executor_id;
  return c;
}

Master::Command Master::FinishedCommand(const WorkerInfo& worker, const std::string& app_id,
                                        bool failed) {
  Command c = MakeCommand(Command::Kind::kApplicationFinished, worker, app_id);
  c.app_failed = failed;
  return c;
}

void Master::Dispatch(Commands commands) {
  if (commands.empty()) return;
  if (!options_.dispatch) {
    Perform(commands);
    return;
  }
  // One closure per worker, its commands in the order decided.
  std::vector<std::pair<std::string, Commands>> by_worker;
  for (Command& c : commands) {
    auto it = std::find_if(by_worker.begin(), by_worker.end(),
                           [&](const auto& w) { return w.first == c.worker_address; });
    if (it == by_worker.end()) it = by_worker.insert(by_worker.end(), {c.worker_address, {}});
    it->second.push_back(std::move(c));
  }
  for (auto& [address, list] : by_worker) {
    options_.dispatch(address, [this, list = std::move(list)] { Perform(list); });
  }
}

void Master::Perform(const Commands& commands) {
  for (const Command& c : commands) {
    absl::Status status;
    switch (c.kind) {
      case Command::Kind::kLaunch:
        status = options_.commands->LaunchExecutor({c.worker_address, c.worker_token}, c.launch);
        // A retried request whose first attempt got through (its reply was lost): the
        // executor is the one this grant made, not a failure.
        if (absl::IsAlreadyExists(status)) continue;
        if (!status.ok()) {
          spdlog::warn("launch failed app={} executor={} worker={}: {}", c.app_id, c.executor_id,
                       c.worker_id, View(status.message()));
          LaunchFailed(c, std::string(View(status.message())));
        }
        continue;
      case Command::Kind::kKill:
        status = options_.commands->KillExecutor({c.worker_address, c.worker_token}, c.app_id,
                                                 c.executor_id);
        break;
      case Command::Kind::kApplicationFinished:
        status = options_.commands->ApplicationFinished({c.worker_address, c.worker_token},
                                                        c.app_id, c.app_failed);
        break;
      case Command::Kind::kLaunchDriver:
        status = options_.commands->LaunchDriver({c.worker_address, c.worker_token}, c.driver);
        if (absl::IsAlreadyExists(status)) continue;  // a retry whose first attempt got through
        if (!status.ok()) {
          spdlog::warn("driver launch failed driver={} worker={}: {}", c.driver.driver_id,
                       c.worker_id, View(status.message()));
          DriverLaunchFailed(c, std::string(View(status.message())));
        }
        continue;
      case Command::Kind::kKillDriver:
        status =
            options_.commands->KillDriver({c.worker_address, c.worker_token}, c.driver.driver_id);
        if (!status.ok()) {
          spdlog::warn("driver kill failed driver={} worker={}: {}", c.driver.driver_id,
                       c.worker_id, View(status.message()));
        }
        continue;
    }
    if (!status.ok()) {
      spdlog::warn("worker command failed app={} executor={} worker={}: {}", c.app_id,
                   c.executor_id, c.worker_id, View(status.message()));
    }
  }
}

void Master::LaunchFailed(const Command& command, const std::string& why) {
  Commands commands;
  {
    absl::MutexLock lock(&mu_);
    Application* app = apps_.FindActive(command.app_id);
    if (app == nullptr) return;
    auto it = app->executors.find(command.executor_id);
    if (it == app->executors.end() || it->second.worker_id != command.worker_id) return;
    app->last_failure = StrCat("executor ", command.executor_id, " could not be launched on ",
                               command.worker_address, ": ", why);
    ExecutorEndedLocked(*app, command.executor_id, /*failed=*/true, &commands);
    ScheduleLocked(&commands);
  }
  Dispatch(std::move(commands));
}

void Master::DriverLaunchFailed(const Command& command, const std::string& why) {
  Commands commands;
  {
    absl::MutexLock lock(&mu_);
    DriverInfo* d = drivers_.FindActive(command.driver.driver_id);
    if (d == nullptr || d->state != DriverState::kRunning || d->worker_id != command.worker_id ||
        d->attempt() != command.driver.attempt) {
      return;
    }
    ReleaseDriverLocked(*d);
    DriverRunEndedLocked(*d, DriverState::kError,
                         StrCat("it could not be launched on ", command.worker_address, ": ", why));
    ScheduleLocked(&commands);
  }
  Dispatch(std::move(commands));
}

}  // namespace kiln::master
