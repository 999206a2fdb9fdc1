#pragma once
// A WorkerCommands that records every call (as one line of text) instead of calling
// workers; launches to addresses in `failing` fail. Thread-safe.

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/strings.h"
#include "master/worker_commands.h"

namespace kiln::master {

class FakeWorkerCommands final : public WorkerCommands {
 public:
  absl::Status LaunchExecutor(const WorkerTarget& worker, const ExecutorLaunch& l) override {
    const std::string& address = worker.address;
    absl::MutexLock lock(&mu_);
    calls_.push_back(StrCat("launch ", address, " ", l.app_id, " ", l.executor_id,
                            " cores=", l.cores, " mem=", l.memory_mb));
    launches_.push_back(l);
    if (failing_.count(address) > 0) return absl::UnavailableError("worker down");
    if (auto it = answers_.find(address); it != answers_.end()) return it->second;
    return absl::OkStatus();
  }
  absl::Status KillExecutor(const WorkerTarget& worker, const std::string& app_id,
                            int executor_id) override {
    const std::string& address = worker.address;
    absl::MutexLock lock(&mu_);
    calls_.push_back(StrCat("kill ", address, " ", app_id, " ", executor_id));
    return absl::OkStatus();
  }
  absl::Status ApplicationFinished(const WorkerTarget& worker, const std::string& app_id,
                                   bool failed) override {
    const std::string& address = worker.address;
    absl::MutexLock lock(&mu_);
    calls_.push_back(StrCat(failed ? "failed " : "finished ", address, " ", app_id));
    return absl::OkStatus();
  }

  absl::Status LaunchDriver(const WorkerTarget& worker, const DriverLaunch& l) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back(StrCat("launch-driver ", worker.address, " ", l.driver_id,
                            " attempt=", l.attempt, " cores=", l.cores, " mem=", l.memory_mb));
    if (failing_.count(worker.address) > 0) return absl::UnavailableError("worker down");
    return absl::OkStatus();
  }
  absl::Status KillDriver(const WorkerTarget& worker, const std::string& driver_id) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back(StrCat("kill-driver ", worker.address, " ", driver_id));
    return absl::OkStatus();
  }

  // The worker at an address answers Identify with its token only when set here (by
  // default no worker answers: it is gone).
  absl::Status Identify(const WorkerTarget& worker) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back(StrCat("identify ", worker.address));
    auto it = identities_.find(worker.address);
    if (it != identities_.end() && it->second == worker.token) return absl::OkStatus();
    return absl::UnavailableError("no worker answers there");
  }
  void WorkerAnswersAt(const std::string& address, const std::string& token) {
    absl::MutexLock lock(&mu_);
    identities_[address] = token;
  }

  void FailLaunchesTo(const std::string& address) {
    absl::MutexLock lock(&mu_);
    failing_.insert(address);
  }
  void SucceedLaunchesTo(const std::string& address) {
    absl::MutexLock lock(&mu_);
    failing_.erase(address);
  }
  // Launches to `address` return `status` from now on.
  void AnswerLaunchesTo(const std::string& address, absl::Status status) {
    absl::MutexLock lock(&mu_);
    answers_[address] = std::move(status);
  }
  // Returns the calls recorded since the last Take, and forgets them.
  std::vector<std::string> Take() {
    absl::MutexLock lock(&mu_);
    launches_.clear();
    return std::exchange(calls_, {});
  }
  std::vector<ExecutorLaunch> launches() {
    absl::MutexLock lock(&mu_);
    return launches_;
  }
  // Calls recorded since the last Take that start with `prefix`, sorted.
  std::vector<std::string> With(const std::string& prefix) {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> out;
    for (const auto& c : calls_) {
      if (c.rfind(prefix, 0) == 0) out.push_back(c);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> calls_ ABSL_GUARDED_BY(mu_);
  std::vector<ExecutorLaunch> launches_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> failing_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> identities_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Status> answers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kiln::master
