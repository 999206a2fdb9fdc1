#pragma once
// DagScheduler: runs a job: computes the shuffles the final stage depends on (only the
// map outputs that are missing: outputs are reused across jobs, and none is needed
// below a cached dataset), then the final stage.
// A fetch failure forgets the lost map outputs and reruns the stages that made them,
// up to `max_stage_attempts` times (kiln.stage.maxConsecutiveAttempts). Stages run one
// after another. Thread-safe; jobs are
// serialized.

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "driver/accumulator_registry.h"
#include "driver/map_output_tracker.h"
#include "driver/stage_builder.h"
#include "driver/stage_metrics.h"
#include "driver/task_scheduler.h"

namespace kiln::internal {

struct DagSchedulerOptions {
  // Attempts of a stage whose shuffle reads keep failing before the job aborts
  // (kiln.stage.maxConsecutiveAttempts, Spark's 4).
  int max_stage_attempts = 4;
  EventBus* events = nullptr;  // gets each stage attempt's submission and completion
  // Merges the accumulator updates of each successful stage attempt's kept task results.
  AccumulatorRegistry* accumulators = nullptr;
};

class DagScheduler {
 public:
  DagScheduler(TaskScheduler* tasks, MapOutputTracker* outputs, const CacheTracker* cache,
               DagSchedulerOptions options = {})
      : tasks_(tasks),
        outputs_(outputs),
        cache_(cache),
        max_stage_attempts_(std::max(1, options.max_stage_attempts)),
        events_(options.events),
        accumulators_(options.accumulators) {}

  // The encoded results of `partitions` of `node` (ascending, distinct), in that order.
  // `job_id` names the job in the stages' events.
  absl::StatusOr<std::vector<std::string>> RunJob(const std::shared_ptr<const PlanNode>& node,
                                                  const runtime::OpSpec& sink,
                                                  const std::vector<int>& partitions,
                                                  int job_id = 0);

  int jobs_run() const { return jobs_.load(); }
  // The stages the last job ran (successful attempts), in the order they finished.
  std::vector<StageMetrics> LastJobStages() const;

 private:
  // Computes the missing map outputs the stage's tasks `partitions` read, unless they
  // read only cached blocks.
  absl::Status EnsureParents(const StageTemplate& stage, const std::vector<int>& partitions,
                             int depth) ABSL_EXCLUSIVE_LOCKS_REQUIRED(job_mu_);
  absl::Status EnsureShuffle(const ShuffleDependency& dep, int depth)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(job_mu_);
  // `shuffle_id`: the shuffle a map stage writes, -1 for the result stage.
  TaskSetOutcome RunStage(const StageTemplate& stage, const std::vector<int>& partitions,
                          int shuffle_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(job_mu_);
  void ForgetLost(const FetchFailed& failure) ABSL_EXCLUSIVE_LOCKS_REQUIRED(job_mu_);

  TaskScheduler* tasks_;
  MapOutputTracker* outputs_;
  const CacheTracker* cache_;
  const int max_stage_attempts_;
  EventBus* const events_;
  AccumulatorRegistry* const accumulators_;
  absl::Mutex job_mu_;                       // one job at a time
  int job_id_ ABSL_GUARDED_BY(job_mu_) = 0;  // of the running job
  // Until a fetch failure in the running job: shuffles below fully cached datasets are
  // not computed.
  bool skip_cached_parents_ ABSL_GUARDED_BY(job_mu_) = true;
  mutable absl::Mutex stages_mu_;
  std::vector<StageMetrics> stages_ ABSL_GUARDED_BY(stages_mu_);  // of the running job
  std::atomic<int> next_stage_id_{0};
  std::atomic<int> jobs_{0};
};

}  // namespace kiln::internal
