#pragma once
// RunningTasks: what an executor's running tasks have spilled so far, published by each
// task's thread when it spills and read by the executor's progress loop, which sends
// the figures that changed to the driver. When an executor dies mid-task (killed at its
// memory limit, say), the driver can then say how far its tasks had got. Thread-safe.

#include <cstdint>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "runtime/operator.h"

namespace kiln::runtime {

struct TaskProgress {
  int64_t task_id = 0;
  int stage_id = 0;
  int partition = 0;
  TaskMetrics metrics;  // spill figures and the peak execution memory so far
};

class RunningTasks {
 public:
  void Begin(int64_t task_id, int stage_id, int partition);
  void End(int64_t task_id);
  // The task's figures now (from its own thread, after a spill).
  void Update(int64_t task_id, const TaskMetrics& metrics);
  // The running tasks whose figures changed since the last call.
  std::vector<TaskProgress> TakeChanged();
  // Every running task that has spilled, by task id.
  std::vector<TaskProgress> Spilled();

 private:
  struct Entry {
    TaskProgress progress;
    bool changed = false;
  };
  absl::Mutex mu_;
  absl::flat_hash_map<int64_t, Entry> tasks_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kiln::runtime
