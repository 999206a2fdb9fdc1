#include "runtime/running_tasks.h"

namespace kiln::runtime {

void RunningTasks::Begin(int64_t task_id) {
  absl::MutexLock lock(&mu_);
  tasks_[task_id] = Entry{};
}

void RunningTasks::End(int64_t task_id) {
  absl::MutexLock lock(&mu_);
  tasks_.erase(task_id);
}

void RunningTasks::Update(int64_t task_id, const TaskMetrics& metrics) {
  absl::MutexLock lock(&mu_);
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return;
  it->second.metrics = metrics;
  it->second.changed = true;
}

std::vector<TaskProgress> RunningTasks::TakeChanged() {
  std::vector<TaskProgress> out;
  absl::MutexLock lock(&mu_);
  for (auto& [id, entry] : tasks_) {
    if (!entry.changed) continue;
    entry.changed = false;
    out.push_back({id, entry.metrics});
  }
  return out;
}

}  // namespace kiln::runtime
