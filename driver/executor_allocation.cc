#include "driver/executor_allocation.h"

#include <algorithm>
#include <cmath>

#include "spdlog/spdlog.h"

namespace kiln::internal {

AllocationOptions AllocationOptionsFrom(const Config& conf) {
  auto count = [&](const char* key) {
    return static_cast<int>(std::min<int64_t>(conf.GetInt(key), 1 << 30));
  };
  AllocationOptions o;
  o.min_executors = count("kiln.dynamicAllocation.minExecutors");
  const int max = count("kiln.dynamicAllocation.maxExecutors");
  o.max_executors = max > 0 ? max : 1 << 30;
  o.initial_executors = InitialExecutors(conf);
  o.idle_timeout = conf.GetDuration("kiln.dynamicAllocation.executorIdleTimeout");
  const auto cached = conf.GetDuration("kiln.dynamicAllocation.cachedExecutorIdleTimeout");
  if (cached.count() > 0) o.cached_idle_timeout = cached;
  o.backlog_timeout = conf.GetDuration("kiln.dynamicAllocation.schedulerBacklogTimeout");
  o.sustained_backlog_timeout =
      conf.GetDuration("kiln.dynamicAllocation.sustainedSchedulerBacklogTimeout");
  o.allocation_ratio = conf.GetDouble("kiln.dynamicAllocation.executorAllocationRatio");
  o.cores_per_executor = count("kiln.executor.cores");
  return o;
}

int InitialExecutors(const Config& conf) {
  return static_cast<int>(
      std::min<int64_t>(std::max(conf.GetInt("kiln.dynamicAllocation.minExecutors"),
                                 conf.GetInt("kiln.dynamicAllocation.initialExecutors")),
                        1 << 30));
}

ExecutorAllocationManager::ExecutorAllocationManager(AllocationOptions options)
    : options_(options),
      target_(std::clamp(options.initial_executors, options.min_executors,
                         std::max(options.min_executors, options.max_executors))) {}

AllocationDecision ExecutorAllocationManager::Update(int pending_tasks,
                                                     const std::vector<ExecutorLoad>& executors) {
  const TimePoint now = options_.clock->Now();
  AllocationDecision decision;
  const int old_target = target_;

  int running = 0;
  int cores = 0;
  for (const ExecutorLoad& e : executors) {
    running += e.running_tasks;
    cores += e.cores;
  }
  const double per_executor =
      options_.cores_per_executor > 0
          ? options_.cores_per_executor
          : (executors.empty() ? 1.0 : static_cast<double>(cores) / executors.size());
  const int needed = static_cast<int>(std::ceil(
      (pending_tasks + running) * options_.allocation_ratio / std::max(1.0, per_executor)));
  const int ceiling = std::min(needed, options_.max_executors);

  if (pending_tasks == 0) {
    add_at_.reset();
    to_add_ = 1;
  } else if (!add_at_.has_value()) {
    add_at_ = now + options_.backlog_timeout;
  }
  if (target_ > ceiling) {
    target_ = std::max(ceiling, options_.min_executors);  // fewer needed: at once
    to_add_ = 1;
  } else if (add_at_.has_value() && now >= *add_at_) {
    const int grown = std::max(target_, std::min(target_ + to_add_, ceiling));
    to_add_ = grown == ceiling ? 1 : to_add_ * 2;
    target_ = grown;
    add_at_ = now + options_.sustained_backlog_timeout;
  }
  if (target_ != old_target) {
    decision.target = target_;
    spdlog::info(
        "dynamic allocation: {} executor(s) wanted (was {}): {} task(s) waiting, {} running",
        target_, old_target, pending_tasks, running);
  }

  // Idle executors past their timeout go, keeping minExecutors and the target.
  absl::flat_hash_map<std::string, TimePoint> still;
  int left = static_cast<int>(executors.size());
  for (const ExecutorLoad& e : executors) {
    if (e.running_tasks > 0) continue;
    auto it = idle_since_.find(e.id);
    const TimePoint since = it != idle_since_.end() ? it->second : now;
    const std::optional<std::chrono::milliseconds> timeout =
        e.holds_cached_blocks ? options_.cached_idle_timeout : options_.idle_timeout;
    if (timeout.has_value() && now - since >= *timeout &&
        left - 1 >= std::max(options_.min_executors, target_)) {
      decision.remove.push_back(e.id);
      --left;
      spdlog::info("dynamic allocation: executor {} idle for {} ms: giving it back", e.id,
                   std::chrono::duration_cast<std::chrono::milliseconds>(now - since).count());
      continue;
    }
    still.emplace(e.id, since);
  }
  idle_since_ = std::move(still);
  return decision;
}

}  // namespace kiln::internal
