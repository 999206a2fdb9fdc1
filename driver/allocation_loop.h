#pragma once
// AllocationLoop: runs dynamic allocation for a cluster-mode driver. Every 100 ms it
// reads the task scheduler's backlog and executors (and which hold cached blocks), asks
// ExecutorAllocationManager what to do, sends the master a changed target, and gives
// back the idle executors it names — taken out of scheduling first, so that no task is
// sent to an executor on its way out. Thread-safe (its own thread; Stop() joins it).

#include <atomic>
#include <memory>

#include "common/background.h"
#include "driver/backend.h"
#include "driver/cache_tracker.h"
#include "driver/executor_allocation.h"
#include "driver/task_scheduler.h"

namespace kiln::internal {

class AllocationLoop {
 public:
  // Not owned; all outlive the loop.
  AllocationLoop(AllocationOptions options, TaskScheduler* tasks, CacheTracker* cache,
                 Backend* backend);
  ~AllocationLoop();  // Stop()

  void Start();
  void Stop();
  // A job waits for its first executor (counts as one waiting task) until the matching
  // EndWait().
  void BeginWait() { jobs_waiting_.fetch_add(1); }
  void EndWait() { jobs_waiting_.fetch_sub(1); }
  // One round (the thread's tick; tests call it).
  void Tick();

 private:
  ExecutorAllocationManager manager_;  // touched by the tick thread only
  TaskScheduler* const tasks_;
  CacheTracker* const cache_;
  Backend* const backend_;
  std::atomic<int> jobs_waiting_{0};
  int sent_target_ = -1;  // the last target the master accepted
  PeriodicThread thread_;
};

}  // namespace kiln::internal
