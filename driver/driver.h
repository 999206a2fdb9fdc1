#pragma once
// Driver: the composition root of the driver side of an application: configuration,
// the backend (local or cluster), the task and DAG schedulers, the map output tracker
// and the progress bar. Implements JobRunner for Dataset<T>. Thread-safe.

#include <atomic>
#include <memory>
#include <string>

#include "common/settings.h"
#include "driver/backend.h"
#include "driver/cache_tracker.h"
#include "driver/dag_scheduler.h"
#include "driver/job_runner.h"
#include "driver/map_output_tracker.h"
#include "driver/progress_bar.h"
#include "driver/task_scheduler.h"

namespace kiln::internal {

struct DriverOptions {
  Config conf;
  std::string app_name;
  bool exit_on_failure = true;
};

class Driver final : public JobRunner {
 public:
  // Starts the backend; a failure (bad master URL, unreachable master) is reported as
  // a job failure is (exit 1, or JobFailed).
  explicit Driver(DriverOptions options);
  ~Driver() override;  // Stop("FINISHED")

  int NewNodeId() override { return next_node_++; }
  int NewShuffleId() override { return next_shuffle_++; }
  int DefaultParallelism() override;
  std::vector<std::string> RunJob(const std::shared_ptr<const PlanNode>& node,
                                  const runtime::OpSpec& sink, std::string_view action) override;
  std::vector<std::string> RunJobOn(const std::shared_ptr<const PlanNode>& node,
                                    const runtime::OpSpec& sink, std::string_view action,
                                    const std::vector<int>& partitions) override;
  [[noreturn]] void Fail(const std::string& message) override;
  std::string StartOutput(const std::string& dir, std::string_view action) override;
  void CommitOutput(const std::string& absolute_dir, std::string_view action) override;
  void Persist(const PlanNode& node, runtime::OpSpec cache_op) override;
  void Unpersist(const PlanNode& node) override;
  bool IsPersisted(const PlanNode& node) const override;
  int CachedPartitions(const PlanNode& node) const override;
  std::vector<StageMetrics> LastJobStages() const override { return dag_.LastJobStages(); }

  void Stop(const std::string& final_state);
  const std::string& app_id() const { return backend_->app_id(); }
  const Config& conf() const { return options_.conf; }

 private:
  void WaitForExecutors();

  DriverOptions options_;
  CacheTracker cache_;
  TaskScheduler tasks_;
  MapOutputTracker outputs_;
  DagScheduler dag_;
  ProgressBar progress_;
  std::unique_ptr<Backend> backend_;
  std::atomic<int> next_node_{0};
  std::atomic<int> next_shuffle_{0};
  std::atomic<bool> stopped_{false};
  std::atomic<int> jobs_{0};
};

}  // namespace kiln::internal
