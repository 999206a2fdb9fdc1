#pragma once
// TaskMemory: the execution memory of one task attempt, acquired from its executor's
// MemoryManager by the task's operators and all released when the task ends. Cached
// blocks that give way to it are written to disk (MEMORY_AND_DISK) or dropped by the
// task, and reported with its status. Not thread-safe: one per task.

#include <cstdint>
#include <vector>

#include "runtime/block_id.h"

namespace kiln::runtime {

class MemoryManager;
struct TaskContext;

class TaskMemory {
 public:
  // `manager` null: every request is granted (tests that run operators alone).
  TaskMemory(MemoryManager* manager, int64_t task_id);
  ~TaskMemory();  // releases what the task still holds
  TaskMemory(const TaskMemory&) = delete;
  TaskMemory& operator=(const TaskMemory&) = delete;

  // Up to `bytes` more; returns what was granted (see MemoryManager::AcquireExecution).
  int64_t Acquire(int64_t bytes, std::vector<Evicted>* evicted);
  void Release(int64_t bytes);

  int64_t held() const { return held_; }
  int64_t peak() const { return peak_; }

 private:
  MemoryManager* const manager_;
  const int64_t task_id_;
  int64_t held_ = 0;
  int64_t peak_ = 0;
};

// Spills (or drops) cached blocks evicted for task `ctx` and records the block updates.
void HandleEvicted(std::vector<Evicted>& evicted, TaskContext& ctx);

}  // namespace kiln::runtime
