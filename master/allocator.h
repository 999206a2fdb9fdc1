#pragma once
// Executor placement: which workers get an application's next executors, and how many
// cores each one gets. A pure function (no state, no clock, no I/O), the same algorithm as
// Spark standalone's scheduleExecutorsOnWorkers. Thread-safe (it shares nothing).

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::master {

// What one application still wants.
struct ExecutorDemand {
  // Cores of each executor; 0 = one executor per worker taking all the cores it can get
  // there (and a worker that already hosts one of this application's executors gets no
  // other).
  int cores_per_executor = 0;
  int64_t memory_per_executor_mb = 0;
  // Cores the application may still be granted (its cap minus what it holds); callers
  // pass a large number when it has no cap.
  int cores_wanted = 0;
  // New executors it may still get (Master::kMaxExecutorsPerApplication minus those it has).
  int max_executors = 1 << 30;
};

// The free resources of one ALIVE worker, as they are before this placement.
struct WorkerCapacity {
  std::string worker_id;
  int cores_free = 0;
  int64_t memory_free_mb = 0;
  bool hosts_app_executor = false;  // already runs an executor of this application
};

// One executor to launch.
struct ExecutorPlacement {
  std::string worker_id;
  int cores = 0;
  int64_t memory_mb = 0;
};

// Places executors for `demand` on `workers`. With `spread_out`, cores are dealt
// round-robin over the usable workers (one executor's worth at a time) so executors spread
// over as many workers as possible; without it, each worker is filled before the next.
// Never assigns a worker more cores or memory than it has free. Workers are tried in order
// of most free cores first (ties keep their input order). The result lists each executor
// once, grouped by worker.
std::vector<ExecutorPlacement> PlaceExecutors(const ExecutorDemand& demand,
                                              const std::vector<WorkerCapacity>& workers,
                                              bool spread_out);

// Why PlaceExecutors(demand, workers) places nothing, in a user's words and with the
// setting to change ("needs 4.0 GiB per executor (kiln.executor.memory); the most free on
// a worker is 2.0 GiB"); empty when it would place an executor.
std::string WhyNothingPlaced(const ExecutorDemand& demand,
                             const std::vector<WorkerCapacity>& workers);

}  // namespace kiln::master
