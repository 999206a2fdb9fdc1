#include "master/allocator.h"

#include <algorithm>

#include "common/strings.h"
#include "common/units.h"

namespace kiln::master {
namespace {

// Per-worker progress of one placement round.
struct Slot {
  const WorkerCapacity* worker;
  int assigned_cores = 0;
  int assigned_executors = 0;
};

}  // namespace

std::vector<ExecutorPlacement> PlaceExecutors(const ExecutorDemand& demand,
                                              const std::vector<WorkerCapacity>& workers,
                                              bool spread_out) {
  std::vector<ExecutorPlacement> out;
  const bool one_per_worker = demand.cores_per_executor <= 0;
  const int min_cores = one_per_worker ? 1 : demand.cores_per_executor;
  const int64_t memory = demand.memory_per_executor_mb;
  if (demand.cores_wanted < min_cores || memory <= 0) return out;

  std::vector<Slot> slots;
  int64_t total_free = 0;
  for (const WorkerCapacity& w : workers) {
    if (w.cores_free < min_cores || w.memory_free_mb < memory) continue;
    if (one_per_worker && w.hosts_app_executor) continue;
    slots.push_back(Slot{&w});
    total_free += w.cores_free;
  }
  std::stable_sort(slots.begin(), slots.end(), [](const Slot& a, const Slot& b) {
    return a.worker->cores_free > b.worker->cores_free;
  });
  int64_t cores_left = std::min<int64_t>(demand.cores_wanted, total_free);
  int executors_left = demand.max_executors;

  auto can_launch = [&](const Slot& s) {
    if (cores_left < min_cores) return false;
    if (s.worker->cores_free - s.assigned_cores < min_cores) return false;
    if (one_per_worker && s.assigned_executors > 0) return true;  // grows its one executor
    if (executors_left <= 0) return false;
    int64_t memory_taken = static_cast<int64_t>(s.assigned_executors) * memory;
    return s.worker->memory_free_mb - memory_taken >= memory;
  };
  auto assign = [&](Slot& s) {
    if (!one_per_worker || s.assigned_executors == 0) --executors_left;
    cores_left -= min_cores;
    s.assigned_cores += min_cores;
    s.assigned_executors = one_per_worker ? 1 : s.assigned_executors + 1;
  };

  bool progress = true;
  while (progress) {
    progress = false;
    for (Slot& s : slots) {
      while (can_launch(s)) {
        assign(s);
        progress = true;
        if (spread_out) break;
      }
    }
  }

  for (const Slot& s : slots) {
    if (s.assigned_executors == 0) continue;
    if (one_per_worker) {
      out.push_back({s.worker->worker_id, s.assigned_cores, memory});
      continue;
    }
    for (int i = 0; i < s.assigned_executors; ++i) {
      out.push_back({s.worker->worker_id, demand.cores_per_executor, memory});
    }
  }
  return out;
}

std::string WhyNothingPlaced(const ExecutorDemand& demand,
                             const std::vector<WorkerCapacity>& workers) {
  const bool one_per_worker = demand.cores_per_executor <= 0;
  const int min_cores = one_per_worker ? 1 : demand.cores_per_executor;
  const int64_t memory = demand.memory_per_executor_mb;
  if (demand.max_executors <= 0) return "holds as many executors as one application may";
  if (demand.cores_wanted < min_cores) {
    return StrCat(
        "its cap of cores (kiln.cores.max, or the master's kiln.deploy.defaultCores) "
        "leaves fewer than the ",
        min_cores, " of one executor");
  }
  if (workers.empty()) return "no worker is ALIVE";
  int most_cores_free = 0;                // over workers with the memory of one executor
  int64_t most_memory_free = 0;           // over all workers
  bool room_beside_own_executor = false;  // one_per_worker: fits on a worker it is already on
  for (const WorkerCapacity& w : workers) {
    most_memory_free = std::max(most_memory_free, w.memory_free_mb);
    if (w.memory_free_mb < memory) continue;
    most_cores_free = std::max(most_cores_free, w.cores_free);
    if (w.cores_free < min_cores) continue;
    if (!one_per_worker || !w.hosts_app_executor) return "";
    room_beside_own_executor = true;
  }
  if (most_memory_free < memory) {
    return StrCat("needs ", FormatMib(memory),
                  " per executor (kiln.executor.memory); the most free on a worker is ",
                  FormatMib(most_memory_free));
  }
  if (room_beside_own_executor) {
    return "has its one executor on every worker with room (kiln.executor.cores is unset)";
  }
  return StrCat("needs ", min_cores, min_cores == 1 ? " core" : " cores",
                " per executor (kiln.executor.cores); the most free on a worker with ",
                FormatMib(memory), " free is ", most_cores_free);
}

}  // namespace kiln::master
