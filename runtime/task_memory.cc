#include "runtime/task_memory.h"

#include <algorithm>

#include "common/check.h"
#include "common/logging.h"
#include "common/strings.h"
#include "runtime/memory_manager.h"
#include "runtime/operator.h"

namespace kiln::runtime {

TaskMemory::TaskMemory(MemoryManager* manager, int64_t task_id)
    : manager_(manager), task_id_(task_id) {}

TaskMemory::~TaskMemory() {
  if (manager_ != nullptr) manager_->ReleaseAllExecution(task_id_);
}

int64_t TaskMemory::Acquire(int64_t bytes, std::vector<Evicted>* evicted) {
  const int64_t granted =
      manager_ == nullptr ? bytes : manager_->AcquireExecution(task_id_, bytes, evicted);
  held_ += granted;
  peak_ = std::max(peak_, held_);
  return granted;
}

void TaskMemory::Release(int64_t bytes) {
  KILN_CHECK(bytes >= 0 && bytes <= held_);
  if (bytes == 0) return;
  held_ -= bytes;
  if (manager_ != nullptr) manager_->ReleaseExecution(task_id_, bytes);
}

bool ExecutionBudget::Grow(TaskContext& ctx, int64_t bytes) {
  if (ctx.memory == nullptr) {
    acquired_ = bytes;
    return true;
  }
  const int64_t needed = bytes - acquired_;
  const int64_t ahead = std::max<int64_t>(needed, std::max<int64_t>(1 << 20, acquired_ / 8));
  std::vector<Evicted> evicted;
  acquired_ += ctx.memory->Acquire(ahead, &evicted);
  if (acquired_ < bytes) acquired_ += ctx.memory->Acquire(bytes - acquired_, &evicted);
  HandleEvicted(evicted, ctx);
  return acquired_ >= bytes || bytes <= kMinSpillBytes;
}

void ExecutionBudget::Release(TaskContext& ctx) {
  if (ctx.memory != nullptr) ctx.memory->Release(acquired_);
  acquired_ = 0;
}

void HandleEvicted(std::vector<Evicted>& evicted, TaskContext& ctx) {
  for (Evicted& e : evicted) {
    const bool spilled = e.spill && e.spill(e.id, e.data);
    ctx.block_updates.push_back(BlockUpdate{.dataset = e.id.dataset,
                                            .partition = e.id.partition,
                                            .stored = spilled,
                                            .disk = spilled,
                                            .bytes = 0});
    if (LogEnabled(LogLevel::kDebug)) {
      Log(LogLevel::kDebug, StrCat("task=", ctx.task_id, spilled ? " spilled " : " evicted ",
                                   e.id.Name(), " (", e.bytes, " bytes) to make room"));
    }
  }
  evicted.clear();
}

}  // namespace kiln::runtime
