#pragma once
// TaskMemory: the execution memory of one task attempt, acquired from its executor's
// MemoryManager by the task's operators and all released when the task ends. Cached
// blocks that give way to it are written to disk (MEMORY_AND_DISK) or dropped by the
// task, and reported with its status. Not thread-safe: one per task.

#include <algorithm>
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

// The execution memory one operator holds for a buffer that grows (a sort buffer, a
// combine map), acquired from the task's TaskMemory ahead of need in steps (1 MiB, or an
// eighth of what it holds), so that asking is rare. Not thread-safe.
class ExecutionBudget {
 public:
  // A buffer this small never has to spill: an operator always makes progress, even when
  // its task's other operators hold all of the task's share.
  static constexpr int64_t kMinSpillBytes = 1 << 20;

  // True when `bytes` (the buffer's size now) is covered; false when the task cannot get
  // that much: the caller spills the buffer, then calls Release().
  bool Cover(TaskContext& ctx, int64_t bytes) { return bytes <= acquired_ || Grow(ctx, bytes); }
  // How many bytes the buffer may hold now, having tried to cover `bytes`: at least
  // `bytes` when Cover(bytes) would be true.
  int64_t Covered(TaskContext& ctx, int64_t bytes) {
    return Cover(ctx, bytes) ? std::max({acquired_, kMinSpillBytes, bytes}) : acquired_;
  }
  // Returns everything to the task (after a spill, or when the operator is done).
  void Release(TaskContext& ctx);
  int64_t acquired() const { return acquired_; }

 private:
  bool Grow(TaskContext& ctx, int64_t bytes);

  int64_t acquired_ = 0;
};

}  // namespace kiln::runtime
