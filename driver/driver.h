#pragma once
// Driver: the composition root of the driver side of an application: configuration,
// the backend (local or cluster), the task and DAG schedulers, the map output tracker
// and the progress bar. Implements JobRunner for Dataset<T>. Thread-safe.

#include <atomic>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/settings.h"
#include "driver/accumulator_registry.h"
#include "driver/allocation_loop.h"
#include "driver/app_status.h"
#include "driver/backend.h"
#include "driver/broadcast_registry.h"
#include "driver/cache_tracker.h"
#include "driver/dag_scheduler.h"
#include "driver/doctor.h"
#include "driver/driver_ui.h"
#include "driver/event_bus.h"
#include "driver/event_log.h"
#include "driver/interrupt_handler.h"
#include "driver/job_runner.h"
#include "driver/map_output_tracker.h"
#include "driver/progress_bar.h"
#include "driver/task_scheduler.h"

namespace kiln::internal {

struct DriverOptions {
  Config conf;
  std::string app_name;
  bool exit_on_failure = true;
  // Print "kiln-submit: application ID (NAME) on MASTER" when the application starts.
  bool announce = false;
  // On SIGINT/SIGTERM: unregister the application (KILLED), remove uncommitted outputs
  // and the local scratch dir, then exit 128+signal. For programs, not in-process tests.
  bool handle_interrupts = false;
};

class Driver final : public JobRunner {
 public:
  // Checks the master URL. The backend starts with the first action (or app_id()): a
  // program that ends before running one costs the cluster nothing. A failure (bad
  // master URL, unreachable master) is reported as a job failure is (exit 1, or
  // JobFailed).
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
  void Warn(const std::string& message) override;
  std::string StartOutput(const std::string& dir, std::string_view action) override;
  void CommitOutput(const std::string& absolute_dir, const std::vector<std::string>& attempt_files,
                    std::string_view action, std::string_view extension) override;
  void Persist(const PlanNode& node, runtime::OpSpec cache_op) override;
  void Unpersist(const PlanNode& node) override;
  bool IsPersisted(const PlanNode& node) const override;
  int CachedPartitions(const PlanNode& node) const override;
  std::vector<StageMetrics> LastJobStages() const override { return dag_.LastJobStages(); }
  std::vector<JobFinding> LastJobFindings() const override;
  AccumulatorRegistry* accumulators() { return &accumulators_; }
  BroadcastRegistry* broadcasts() { return &broadcasts_; }
  std::string UiUrl() const override;
  // The application's status as its events built it (jobs, stages, tasks, executors).
  const AppStatusStore& status() const { return status_; }

  void Stop(const std::string& final_state);
  // Starts the application if it has not started yet.
  const std::string& app_id();
  const Config& conf() const { return options_.conf; }

 private:
  // True when `dir` was the uncommitted output of an earlier run of this (relaunched)
  // driver and is now removed.
  static bool ClearAbandonedOutput(const std::string& dir);
  void EnsureStarted();
  // Waits until the executors have `cores` cores (refreshed by `want` as the master
  // grants more or fewer), for at most kiln.scheduler.maxRegisteredResourcesWaitingTime;
  // fails naming why none came (the master's reason, an executor's last words) if not
  // one executor has registered by then.
  void WaitForExecutors(const std::function<int()>& want);
  // Removes every output started and not committed.
  void AbortOutputs();
  // SIGINT/SIGTERM: the application ends KILLED; the process exits 128 + signal.
  [[noreturn]] void Interrupted(int signal);
  // Opens the event log (kiln.eventLog.enabled) and starts the bus, the application's
  // start first.
  void StartEvents();
  // Serves the UI (kiln.ui.enabled) and prints where.
  void StartUi();
  // Posts the application's end and delivers every event (the log is closed).
  void StopEvents(const std::string& final_state);
  // After a job's end was posted: its events are delivered (and logged), and the job
  // doctor's findings printed (kiln.doctor.enabled).
  void EndJob(int job);

  DriverOptions options_;
  CacheTracker cache_;
  AppStatusStore status_;
  EventBus events_;  // after status_, its listener; before the schedulers that post to it
  std::unique_ptr<EventLogWriter> event_log_;
  // Before a page reads the store: the starts of running tasks, then every event so far.
  DriverUi ui_{&status_, [this] {
                 tasks_.PostRunningStarts();
                 events_.Flush();
               }};
  std::atomic<bool> ui_started_{false};
  std::string ui_url_;  // set once, before ui_started_
  TaskScheduler tasks_;
  MapOutputTracker outputs_;
  AccumulatorRegistry accumulators_;  // before dag_, which merges into it
  BroadcastRegistry broadcasts_;      // before backend_, which serves it
  DagScheduler dag_;
  ProgressBar progress_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<AllocationLoop> allocation_;  // kiln.dynamicAllocation.enabled, cluster mode
  absl::Mutex start_mu_;
  bool started_ ABSL_GUARDED_BY(start_mu_) = false;
  absl::Mutex outputs_mu_;
  std::set<std::string> open_outputs_ ABSL_GUARDED_BY(outputs_mu_);  // started, not committed
  std::unique_ptr<InterruptHandler> interrupts_;                     // last: goes first
  std::atomic<int> next_node_{0};
  std::atomic<int> next_shuffle_{0};
  std::atomic<bool> stopped_{false};
  std::atomic<bool> interrupted_{false};  // SIGINT/SIGTERM came: Interrupted() ends it all
  std::atomic<int> jobs_{0};
  mutable absl::Mutex findings_mu_;
  std::vector<JobFinding> last_findings_ ABSL_GUARDED_BY(findings_mu_);
};

}  // namespace kiln::internal
