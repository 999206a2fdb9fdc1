#include "driver/dag_scheduler.h"

#include <algorithm>

#include "common/clock.h"
#include "common/status.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace kiln::internal {
namespace {

absl::Status FetchRetriesExhausted(const FetchFailed& f, int attempts) {
  return absl::AbortedError(
      StrCat("Job aborted: map output ", f.map_id, " of shuffle ", f.shuffle_id,
             f.address.empty() ? std::string(" (local)") : StrCat(" on ", f.address),
             " could not be read in ", attempts,
             " consecutive attempts of the stage that reads it "
             "(kiln.stage.maxConsecutiveAttempts): ",
             f.message));
}

// `results[i]` is the task of partition `partitions[i]`.
StageMetrics Summarize(int stage_id, const std::string& name, const std::vector<int>& partitions,
                       const std::vector<TaskResult>& results) {
  StageMetrics s{.stage_id = stage_id, .name = name, .tasks = static_cast<int>(results.size())};
  for (size_t i = 0; i < results.size(); ++i) {
    const proto::TaskMetrics& m = results[i].status.metrics();
    s.run_nanos += m.run_nanos();
    s.records_read += m.records_read();
    s.records_written += m.records_written();
    s.shuffle_bytes_read += m.shuffle_bytes_read();
    s.shuffle_bytes_written += m.shuffle_bytes_written();
    s.spill_count += m.spill_count();
    s.memory_bytes_spilled += m.memory_bytes_spilled();
    s.disk_bytes_spilled += m.disk_bytes_spilled();
    s.broadcast_bytes += m.broadcast_bytes();
    s.peak_execution_memory = std::max(s.peak_execution_memory, m.peak_execution_memory());
    const bool larger = m.shuffle_bytes_read() != s.largest_partition_bytes
                            ? m.shuffle_bytes_read() > s.largest_partition_bytes
                            : m.records_read() > s.largest_partition_records;
    if (s.largest_partition < 0 || larger) {
      s.largest_partition = partitions[i];
      s.largest_partition_bytes = m.shuffle_bytes_read();
      s.largest_partition_records = m.records_read();
    }
  }
  return s;
}

// How the partitions of the shuffle a stage reads were made (see StageSubmitted).
std::string ReadPartitioning(const StageTemplate& stage) {
  if (stage.segments.empty()) return "";
  const PlanNode* root = stage.segments.front().node;  // the first (only, without unions) root
  if (root->kind != PlanNode::Kind::kShuffled || root->deps.empty()) return "";
  const std::string& sink = root->deps.front()->write_op.kind;
  if (sink.find("RangeShuffleSink") != std::string::npos) return "range";
  if (sink.find("RoundRobinShuffleSink") != std::string::npos) return "round-robin";
  return "hash";
}

}  // namespace

std::vector<StageMetrics> DagScheduler::LastJobStages() const {
  absl::MutexLock lock(&stages_mu_);
  return stages_;
}

absl::StatusOr<std::vector<std::string>> DagScheduler::RunJob(
    const std::shared_ptr<const PlanNode>& node, const runtime::OpSpec& sink,
    const std::vector<int>& partitions, int job_id) {
  absl::MutexLock lock(&job_mu_);
  ++jobs_;
  job_id_ = job_id;
  skip_cached_parents_ = true;
  {
    absl::MutexLock stages_lock(&stages_mu_);
    stages_.clear();
  }
  StageTemplate stage = BuildStage(node, sink, cache_);
  FetchFailed last;
  for (int attempt = 0; attempt < max_stage_attempts_; ++attempt) {
    RETURN_IF_ERROR(EnsureParents(stage, partitions, 0));
    TaskSetOutcome outcome = RunStage(stage, partitions, -1);
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
  return FetchRetriesExhausted(last, max_stage_attempts_);
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
  for (int attempt = 0; attempt < max_stage_attempts_; ++attempt) {
    std::vector<int> missing = outputs_->Missing(dep.shuffle_id, maps);
    if (missing.empty()) return absl::OkStatus();
    StageTemplate stage = BuildStage(dep.map_side, dep.write_op, cache_);
    RETURN_IF_ERROR(EnsureParents(stage, missing, depth));
    TaskSetOutcome outcome = RunStage(stage, missing, dep.shuffle_id);
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
                          .worker_id = r.executor->worker_id,
                          .address = r.executor->shuffle_address});
    }
  }
  if (outputs_->Missing(dep.shuffle_id, maps).empty()) return absl::OkStatus();
  return FetchRetriesExhausted(last, max_stage_attempts_);
}

TaskSetOutcome DagScheduler::RunStage(const StageTemplate& stage,
                                      const std::vector<int>& partitions, int shuffle_id) {
  TaskSet set;
  set.plan = MakeStagePlan(stage, next_stage_id_++, 0, *outputs_);
  for (int p : partitions) {
    set.tasks.push_back(TaskSpec{p, TaskSplit(stage, p), PreferredExecutors(stage, p, *cache_)});
  }
  spdlog::debug("stage={} ({}) submitted with {} task(s)", set.plan.stage_id(), stage.name,
                set.tasks.size());
  const int stage_id = set.plan.stage_id();
  if (events_ != nullptr) {
    events_->Post(StageSubmitted{.stage_id = stage_id,
                                 .job_id = job_id_,
                                 .name = stage.name,
                                 .num_tasks = static_cast<int>(set.tasks.size()),
                                 .num_partitions = stage.num_partitions,
                                 .shuffle_id = shuffle_id,
                                 .read_partitioning = ReadPartitioning(stage),
                                 .time_ms = EpochMillis()});
  }
  TaskSetOutcome outcome = tasks_->RunTaskSet(std::move(set));
  const bool succeeded = outcome.status.ok() && !outcome.fetch_failed;
  std::vector<AccumulableInfo> accumulables;
  if (succeeded && accumulators_ != nullptr) {
    std::vector<const proto::TaskStatus*> kept;
    for (const TaskResult& r : outcome.results) kept.push_back(&r.status);
    accumulables = accumulators_->MergeStage(kept, job_id_);
  }
  if (events_ != nullptr) {
    std::string failure;
    if (!outcome.status.ok()) {
      failure = std::string(View(outcome.status.message()));
    } else if (outcome.fetch_failed) {
      failure = StrCat("fetch failed: ", outcome.fetch_failed->message);
    }
    events_->Post(StageCompleted{.stage_id = stage_id,
                                 .failure = std::move(failure),
                                 .time_ms = EpochMillis(),
                                 .accumulables = std::move(accumulables)});
  }
  if (succeeded) {
    StageMetrics metrics = Summarize(stage_id, stage.name, partitions, outcome.results);
    spdlog::info("{}", DescribeStage(metrics));
    absl::MutexLock lock(&stages_mu_);
    stages_.push_back(std::move(metrics));
  }
  return outcome;
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
