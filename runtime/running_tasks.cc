#include "runtime/running_tasks.h"

#include <algorithm>

namespace kiln::runtime {

void RunningTasks::Begin(int64_t task_id, int stage_id, int partition) {
  absl::MutexLock lock(&mu_);
  tasks_[task_id] =
      Entry{.progress = {.task_id = task_id, .stage_id = stage_id, .partition = partition}};
}

void RunningTasks::End(int64_t task_id) {
  absl::MutexLock lock(&mu_);
  tasks_.erase(task_id);
}

void RunningTasks::Update(int64_t task_id, const TaskMetrics& metrics) {
  absl::MutexLock lock(&mu_);
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return;
  it->second.progress.metrics = metrics;
  it->second.changed = true;
}

std::vector<TaskProgress> RunningTasks::TakeChanged() {
  std::vector<TaskProgress> out;
  absl::MutexLock lock(&mu_);
  for (auto& [id, entry] : tasks_) {
    if (!entry.changed) continue;
    entry.changed = false;
    out.push_back(entry.progress);
  }
  return out;
}

std::vector<TaskProgress> RunningTasks::Spilled() {
  std::vector<TaskProgress> out;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, entry] : tasks_) {
    if (entry.progress.metrics.spill_count > 0) out.push_back(entry.progress);
  }
  std::sort(out.begin(), out.end(),
            [](const TaskProgress& a, const TaskProgress& b) { return a.task_id < b.task_id; });
  return out;
}

}  // namespace kiln::runtime
