#pragma once
// ExecutorAllocationManager: dynamic allocation (kiln.dynamicAllocation.*), Spark's rules.
// Given, every tick, the tasks waiting for a core and what each executor runs, it
// decides how many executors the application should hold in all (the target the driver
// sends the master) and which idle executors to give back:
//
//  - Up: once tasks have waited schedulerBacklogTimeout, the target grows by 1, then by
//    2, 4, ... every sustainedSchedulerBacklogTimeout while the backlog lasts, never past
//    what the waiting and running tasks need (times executorAllocationRatio) or
//    maxExecutors.
//  - Down: the target falls at once to what the tasks need (at least minExecutors); an
//    executor with no task for executorIdleTimeout (cachedExecutorIdleTimeout when it
//    holds cached blocks) is given back, keeping minExecutors and the target.
//
// Kiln's shuffle files belong to the worker, so a released executor's map outputs stay
// readable: no external shuffle service is needed. Not thread-safe (one tick thread);
// time comes from the injected clock.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/clock.h"
#include "common/settings.h"

namespace kiln::internal {

struct AllocationOptions {
  int min_executors = 0;        // kiln.dynamicAllocation.minExecutors
  int max_executors = 1 << 30;  // kiln.dynamicAllocation.maxExecutors (0 there = this)
  int initial_executors = 0;    // the target at registration (at least min_executors)
  std::chrono::milliseconds idle_timeout{60'000};  // executorIdleTimeout
  // cachedExecutorIdleTimeout; nullopt = never (Spark's default, infinity).
  std::optional<std::chrono::milliseconds> cached_idle_timeout;
  std::chrono::milliseconds backlog_timeout{1000};            // schedulerBacklogTimeout
  std::chrono::milliseconds sustained_backlog_timeout{1000};  // sustainedSchedulerBacklogTimeout
  double allocation_ratio = 1.0;                              // executorAllocationRatio
  int cores_per_executor = 0;  // kiln.executor.cores; 0 = as the executors show it
  const Clock* clock = RealClock::Get();
};

// One executor as the task scheduler sees it now.
struct ExecutorLoad {
  std::string id;
  int cores = 1;
  int running_tasks = 0;
  bool holds_cached_blocks = false;
};

struct AllocationDecision {
  std::optional<int> target;        // set when it changed: the total to ask the master for
  std::vector<std::string> remove;  // idle executors to give back
};

// The options kiln.dynamicAllocation.* give (the clock is the real one).
AllocationOptions AllocationOptionsFrom(const Config& conf);
// The executors an application with dynamic allocation registers for: the larger of
// minExecutors and initialExecutors.
int InitialExecutors(const Config& conf);

class ExecutorAllocationManager {
 public:
  explicit ExecutorAllocationManager(AllocationOptions options);

  // `pending_tasks`: tasks waiting for a core (a job waiting for its first executor
  // counts one).
  AllocationDecision Update(int pending_tasks, const std::vector<ExecutorLoad>& executors);
  int target() const { return target_; }

 private:
  using TimePoint = std::chrono::steady_clock::time_point;

  const AllocationOptions options_;
  int target_;
  int to_add_ = 1;                   // the next increase of the target
  std::optional<TimePoint> add_at_;  // when the backlog next grows the target
  absl::flat_hash_map<std::string, TimePoint> idle_since_;
};

}  // namespace kiln::internal
