#include "driver/dag_scheduler.h"

#include "common/status.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace kiln::internal {
namespace {

absl::Status FetchRetriesExhausted(const FetchFailed& f) {
  return absl::AbortedError(StrCat("shuffle ", f.shuffle_id, " map output ", f.map_id,
                                   " could not be fetched after ", DagScheduler::kMaxStageAttempts,
                                   " stage attempts: ", f.message));
}

}  // namespace

absl::StatusOr<std::vector<std::string>> DagScheduler::RunJob(
    const std::shared_ptr<const PlanNode>& node, const runtime::OpSpec& sink,
    const std::vector<int>& partitions) {
  absl::MutexLock lock(&job_mu_);
  ++jobs_;
  skip_cached_parents_ = true;
  StageTemplate stage = BuildStage(node, sink, cache_);
  FetchFailed last;
  for (int attempt = 0; attempt < kMaxStageAttempts; ++attempt) {
    RETURN_IF_ERROR(EnsureParents(stage, partitions, 0));
    TaskSetOutcome outcome = RunStage(stage, partitions);
    if (!outcome.status.ok()) return outcome.status;
    if (outcome.fetch_failed) {
      last = *outcome.fetch_failed;
      ForgetLost(last);
      continue;
    }
    std::vector<std::string> results;
    results.reserve(outcome.results.size());
    for (TaskResult& r : outcome.results) results.push_back(std::move(*r.status.mutable_result()));
    return results;
  }
  return FetchRetriesExhausted(last);
}

absl::Status DagScheduler::EnsureParents(const StageTemplate& stage,
                                         const std::vector<int>& partitions, int depth) {
  for (const ShuffleDependency* dep :
       NeededShuffles(stage, partitions, skip_cached_parents_ ? cache_ : nullptr)) {
    RETURN_IF_ERROR(EnsureShuffle(*dep, depth + 1));
  }
  return absl::OkStatus();
}

absl::Status DagScheduler::EnsureShuffle(const ShuffleDependency& dep, int depth) {
  const int maps = dep.map_side->num_partitions;
  FetchFailed last;
  for (int attempt = 0; attempt < kMaxStageAttempts; ++attempt) {
    std::vector<int> missing = outputs_->Missing(dep.shuffle_id, maps);
    if (missing.empty()) return absl::OkStatus();
    StageTemplate stage = BuildStage(dep.map_side, dep.write_op, cache_);
    RETURN_IF_ERROR(EnsureParents(stage, missing, depth));
    TaskSetOutcome outcome = RunStage(stage, missing);
    if (!outcome.status.ok()) return outcome.status;
    if (outcome.fetch_failed) {
      last = *outcome.fetch_failed;
      ForgetLost(last);
      continue;
    }
    for (size_t i = 0; i < missing.size(); ++i) {
      const TaskResult& r = outcome.results[i];
      outputs_->Register(dep.shuffle_id, maps, missing[i],
                         {.map_id = missing[i],
                          .worker_id = r.executor.worker_id,
                          .address = r.executor.shuffle_address});
    }
  }
  if (outputs_->Missing(dep.shuffle_id, maps).empty()) return absl::OkStatus();
  return FetchRetriesExhausted(last);
}

TaskSetOutcome DagScheduler::RunStage(const StageTemplate& stage,
                                      const std::vector<int>& partitions) {
  TaskSet set;
  set.plan = MakeStagePlan(stage, next_stage_id_++, 0, *outputs_);
  for (int p : partitions) {
    set.tasks.push_back(TaskSpec{p, TaskSplit(stage, p), PreferredExecutors(stage, p, *cache_)});
  }
  spdlog::debug("stage={} ({}) submitted with {} task(s)", set.plan.stage_id(), stage.name,
                set.tasks.size());
  return tasks_->RunTaskSet(std::move(set));
}

void DagScheduler::ForgetLost(const FetchFailed& failure) {
  // A task that was expected to read a cached block read the shuffle below it instead
  // (the block was evicted, or the task ran elsewhere): from now on this job computes
  // every shuffle its stages read, cached or not.
  skip_cached_parents_ = false;
  int dropped = outputs_->MarkLost(failure.shuffle_id, failure.map_id, failure.address);
  spdlog::warn("fetch failure for shuffle {} map {} ({}); {} map output(s) will be recomputed",
               failure.shuffle_id, failure.map_id, failure.message, dropped);
}

}  // namespace kiln::internal
