#pragma once
// For the scheduler tests: FakeExecutor, an ExecutorHandle that records what it is
// sent (task batches, dataset removals) and never runs anything (thread-safe), the task
// sets they run and the statuses tests answer with.

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "driver/executor_handle.h"
#include "driver/task_set_manager.h"

namespace kiln::internal {

// Records the batches it is sent.
class FakeExecutor final : public ExecutorHandle {
 public:
  FakeExecutor(const std::string& id, int cores)
      : ExecutorHandle(ExecutorInfo{.id = id, .host = "host-" + id, .cores = cores}) {}
  bool Launch(const proto::LaunchTasks& launch) override {
    absl::MutexLock lock(&mu_);
    batches_.push_back(launch);
    return true;
  }
  std::vector<proto::LaunchTasks> batches() {
    absl::MutexLock lock(&mu_);
    return batches_;
  }
  bool RemoveDataset(int dataset) override {
    absl::MutexLock lock(&mu_);
    removed_.push_back(dataset);
    return true;
  }
  bool RemoveBroadcast(int64_t id) override {
    absl::MutexLock lock(&mu_);
    removed_broadcasts_.push_back(id);
    return true;
  }
  std::vector<int64_t> removed_broadcasts() {
    absl::MutexLock lock(&mu_);
    return removed_broadcasts_;
  }
  std::vector<int> removed() {
    absl::MutexLock lock(&mu_);
    return removed_;
  }
  bool KillTasks(const proto::KillTasks& kill) override {
    absl::MutexLock lock(&mu_);
    killed_.insert(killed_.end(), kill.task_ids().begin(), kill.task_ids().end());
    return true;
  }
  // Task ids it was asked to kill, in order.
  std::vector<int64_t> killed() {
    absl::MutexLock lock(&mu_);
    return killed_;
  }
  std::vector<proto::TaskDescription> tasks() {
    std::vector<proto::TaskDescription> out;
    for (const auto& b : batches()) out.insert(out.end(), b.tasks().begin(), b.tasks().end());
    return out;
  }

 private:
  absl::Mutex mu_;
  std::vector<proto::LaunchTasks> batches_ ABSL_GUARDED_BY(mu_);
  std::vector<int> removed_ ABSL_GUARDED_BY(mu_);
  std::vector<int64_t> removed_broadcasts_ ABSL_GUARDED_BY(mu_);
  std::vector<int64_t> killed_ ABSL_GUARDED_BY(mu_);
};

// A task set of stage 3 ("3.0") with tasks 0..n-1 of splits "s0".., all preferring
// `preferred`.
inline TaskSet MakeSet(int tasks, const std::vector<std::string>& preferred = {}) {
  TaskSet set;
  set.plan.set_stage_id(3);
  set.plan.set_stage_key("3.0");
  for (int i = 0; i < tasks; ++i) {
    set.tasks.push_back(TaskSpec{i, "s" + std::to_string(i), preferred});
  }
  return set;
}

// Executor `id` on host "host-<id>", as a status's `where`.
inline std::shared_ptr<const ExecutorInfo> On(const std::string& id) {
  return std::make_shared<const ExecutorInfo>(ExecutorInfo{.id = id, .host = "host-" + id});
}

// A finished task's status with its result bytes.
inline proto::TaskStatus Finished(int64_t task_id, const std::string& result) {
  proto::TaskStatus s;
  s.set_task_id(task_id);
  s.set_state(proto::TASK_FINISHED);
  s.set_result(result);
  return s;
}

}  // namespace kiln::internal
