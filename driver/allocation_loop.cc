#include "driver/allocation_loop.h"

#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace kiln::internal {

AllocationLoop::AllocationLoop(AllocationOptions options, TaskScheduler* tasks, CacheTracker* cache,
                               Backend* backend)
    : manager_(options),
      tasks_(tasks),
      cache_(cache),
      backend_(backend),
      sent_target_(options.initial_executors),
      thread_(std::chrono::milliseconds(100), [this] { Tick(); }) {}

AllocationLoop::~AllocationLoop() { Stop(); }

void AllocationLoop::Start() { thread_.Start(); }
void AllocationLoop::Stop() { thread_.Stop(); }

void AllocationLoop::Tick() {
  const absl::flat_hash_set<std::string> holders = cache_->Holders();
  std::vector<ExecutorLoad> executors;
  for (const TaskScheduler::ExecutorUse& use : tasks_->Usage()) {
    executors.push_back({.id = use.id,
                         .cores = use.cores,
                         .running_tasks = use.running_tasks,
                         .holds_cached_blocks = holders.contains(use.id)});
  }
  const int pending = tasks_->PendingTasks() + (jobs_waiting_.load() > 0 ? 1 : 0);
  AllocationDecision decision = manager_.Update(pending, executors);
  const int target = manager_.target();
  if (target != sent_target_) {
    // Sent again on the next tick when the master did not take it.
    if (absl::Status s = backend_->RequestTotalExecutors(target); s.ok()) {
      sent_target_ = target;
    } else {
      spdlog::warn("dynamic allocation: cannot ask the master for {} executor(s): {}", target,
                   View(s.message()));
    }
  }
  std::vector<std::string> released;
  for (const std::string& id : decision.remove) {
    if (tasks_->Decommission(id)) released.push_back(id);  // else a task came: it stays
  }
  if (released.empty()) return;
  if (absl::Status s = backend_->KillExecutors(released); !s.ok()) {
    spdlog::warn("dynamic allocation: cannot give back executor(s) {}: {}",
                 absl::StrJoin(released, ","), View(s.message()));
  }
}

}  // namespace kiln::internal
