#pragma once
// TaskScheduler: runs one task set at a time on the application's executors. It offers
// free cores (ExecutorPool) to the running set's TaskSetManager, sends the tasks it
// picks in batches (one LaunchTasks message per executor per round, the stage plan
// with the first batch an executor gets), passes statuses back to the manager, and puts
// the running tasks of a lost executor back in its queues.
//
// Thread-safe: statuses arrive on executor threads while the job thread waits in
// RunTaskSet. The pool, the manager and the running tasks sit under one mutex; no lock
// is held while launching.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "driver/cache_tracker.h"
#include "driver/event_bus.h"
#include "driver/executor_handle.h"
#include "driver/executor_pool.h"
#include "driver/task_set_manager.h"
#include "proto/driver.pb.h"

namespace kiln::internal {

struct TaskSchedulerOptions {
  int max_failures = 4;                // kiln.task.maxFailures
  size_t max_launch_bytes = 16 << 20;  // split LaunchTasks messages past this size
  int launch_ahead = 2;                // kiln.scheduler.launchAhead
  std::chrono::nanoseconds short_task = std::chrono::milliseconds(20);
  std::chrono::milliseconds locality_wait{3000};        // kiln.locality.wait
  int64_t max_result_bytes = 0;                         // kiln.driver.maxResultSize; 0 = no limit
  bool speculation = false;                             // kiln.speculation
  std::chrono::milliseconds speculation_interval{100};  // kiln.speculation.interval
  double speculation_multiplier = 1.5;                  // kiln.speculation.multiplier
  double speculation_quantile = 0.75;                   // kiln.speculation.quantile
  std::chrono::milliseconds speculation_min_runtime{100};  // kiln.speculation.minTaskRuntime
  const Clock* clock = RealClock::Get();
  EventBus* events = nullptr;  // gets task, executor and block events (may be null)
  // Post every attempt's TaskStart as it is launched (the event log keeps them all).
  // Otherwise a start is posted only for an attempt still running when
  // PostRunningStarts() is called (before the UI reads the status store): most tasks
  // then cost one event, their end, which carries their launch.
  bool eager_task_starts = true;
};

// What the progress bar shows.
struct StageProgress {
  bool active = false;
  int stage_id = 0;
  int total = 0;
  int done = 0;
  int running = 0;
};

class TaskScheduler {
 public:
  // `cache` (may be null) learns the blocks executors report in task statuses.
  explicit TaskScheduler(TaskSchedulerOptions options, CacheTracker* cache = nullptr)
      : options_(options), cache_(cache) {}

  void AddExecutor(std::shared_ptr<ExecutorHandle> executor);
  // Tasks running there go back to the queue (not counted as failures, unless the
  // executor turns out to have failed: see ExecutorFailed).
  void RemoveExecutor(const std::string& executor_id, const std::string& reason);
  // The executor's process died of the application's doing (a crash, a signal, its
  // memory limit), as its worker reports: the tasks it was running count a failure each
  // (Spark's exitCausedByApp), with `reason` as their error. Before or after its
  // stream closed. `crashed_task_id` (>= 0 when the executor's crash report named it):
  // only that task counts the failure; the others run again without one.
  void ExecutorFailed(const std::string& executor_id, const std::string& reason,
                      int64_t crashed_task_id = -1);
  void OnStatuses(const std::string& executor_id, std::vector<proto::TaskStatus> statuses);
  // What the executor's running tasks have spilled so far: a task lost with its
  // executor counts its failure with these figures.
  void OnProgress(const std::string& executor_id, const std::vector<proto::TaskProgress>& progress);

  int TotalCores() const;
  int ExecutorCount() const;

  // Dynamic allocation's view: tasks of the running set waiting for a core, and each
  // executor's cores and running tasks.
  struct ExecutorUse {
    std::string id;
    int cores = 0;
    int running_tasks = 0;
  };
  int PendingTasks() const;
  std::vector<ExecutorUse> Usage() const;
  // Takes an idle executor out of scheduling before it is given back: false (and
  // nothing changes) when it runs a task or is not registered. Its later stream close
  // is then a no-op.
  bool Decommission(const std::string& executor_id);
  // Waits until the executors have at least `cores` cores; false on timeout or Stop.
  bool WaitForCores(int cores, std::chrono::milliseconds timeout);

  // Runs the task set to the end: every task finished, a task failed max_failures
  // times, a fetch failure, or Stop().
  TaskSetOutcome RunTaskSet(TaskSet set);

  // Tells every executor to drop its cached blocks of `dataset`.
  void RemoveDataset(int dataset);
  // Tells every executor to drop its copy of broadcast variable `id`.
  void RemoveBroadcast(int64_t id);

  // Ends any wait with an error; later task sets fail at once.
  void Stop(const std::string& reason);
  // Stop()'s reason, or empty while running.
  std::string StopReason() const;
  // The last executor failure a worker reported for an executor that was not (or no
  // longer) registered, e.g. one that died before it could reach the driver: "executor
  // 3: executor exit code 1; last lines of its stderr: ...". Empty if none.
  std::string LastUnregisteredFailure() const;

  StageProgress Progress() const;
  // Posts the TaskStart of every running attempt whose start was not posted yet (see
  // TaskSchedulerOptions::eager_task_starts).
  void PostRunningStarts();
  // Speculative attempts launched since this scheduler started (kiln.speculation).
  int SpeculativeLaunches() const;

 private:
  // Calls `fn` for every executor, without the lock (a handle's calls may block).
  void ForEachExecutor(const std::function<void(ExecutorHandle&)>& fn) ABSL_LOCKS_EXCLUDED(mu_);
  struct Running {
    std::string executor_id;
    int index = 0;            // task index in the set
    uint64_t generation = 0;  // task set it belongs to
    // Its spill figures, as the executor last reported them; null until it reports any.
    std::unique_ptr<runtime::TaskMetrics> so_far;
    TaskAttempt attempt;  // as posted in its TaskStart (when there is a bus)
    bool start_posted = false;
  };
  struct Launch {
    std::shared_ptr<ExecutorHandle> handle;
    proto::LaunchTasks message;
  };
  // The tasks an executor was running when it was lost, until its worker says why.
  struct LostAttempts {
    ExecutorInfo executor;
    uint64_t generation = 0;
    std::vector<int> indices;
    std::vector<int64_t> task_ids;             // of each index
    std::vector<runtime::TaskMetrics> so_far;  // of each index
  };
  struct Failure {
    std::string reason;
    int64_t crashed_task_id = -1;
  };

  void CountLostLocked(const LostAttempts& lost, const Failure& failure)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // The messages of one AssignLocked, and their turn to be sent: batches go out in the
  // order they were assigned, so that an executor never gets a task before the batch
  // that carries its stage's plan.
  struct Launches {
    uint64_t ticket = 0;  // 0: nothing to send
    std::vector<Launch> items;
    bool empty() const { return items.empty(); }
  };

  // Attempts to stop, per executor (see proto KillTasks).
  struct Kill {
    std::shared_ptr<ExecutorHandle> handle;
    proto::KillTasks message;
  };
  using Kills = absl::flat_hash_map<std::string, Kill>;
  // Adds every running attempt of task `index` of the current set but `except_task_id`.
  void KillOtherAttemptsLocked(int index, int64_t except_task_id, Kills* kills)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static void SendKills(Kills kills);

  // Gives queued tasks to free cores; returns the messages to send.
  // Every locked section that posts events ends with it: it also hands the section's
  // events to the bus, in one call.
  Launches AssignLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Launches AssignTasksLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends them once every batch assigned before has been sent.
  void SendLaunches(Launches launches) ABSL_LOCKS_EXCLUDED(mu_, send_mu_);
  void HandleStatusLocked(const std::string& executor_id, proto::TaskStatus& status, Kills* kills)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool SetDoneLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Posts the end of a running attempt, if there is a bus; takes `run.attempt`.
  void PostTaskEnd(Running& run, TaskState state, std::string error,
                   const runtime::TaskMetrics& metrics) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Hands the queued events to the bus in one call.
  void PostPendingLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!events_out_.empty()) options_.events->PostAll(&events_out_);
  }
  // Queued until the section's AssignLocked: one bus call per section, not per event.
  template <class E>
  void Post(E&& event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (options_.events != nullptr) events_out_.emplace_back(std::forward<E>(event));
  }
  // With a bus only: appends an empty event of type E and returns it to fill, built in
  // place (no temporary to move and destroy: two of these go by for every task).
  template <class E>
  E& NewEvent() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return std::get<E>(events_out_.emplace_back(std::in_place_type<E>));
  }

  const TaskSchedulerOptions options_;
  CacheTracker* const cache_;
  mutable absl::Mutex mu_;
  ExecutorPool pool_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int64_t, Running> running_ ABSL_GUARDED_BY(mu_);  // by task id
  int64_t next_task_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::string stopped_ ABSL_GUARDED_BY(mu_);
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;              // of the task set running or last run
  std::unique_ptr<TaskSetManager> set_ ABSL_GUARDED_BY(mu_);  // null: no set running
  uint64_t tickets_ ABSL_GUARDED_BY(mu_) = 0;                 // the last ticket given
  absl::Mutex send_mu_ ABSL_ACQUIRED_AFTER(mu_);
  uint64_t sent_ ABSL_GUARDED_BY(send_mu_) = 0;  // the last ticket sent
  // Executors lost in the current task set, whose failure reason has not come yet.
  absl::flat_hash_map<std::string, LostAttempts> lost_ ABSL_GUARDED_BY(mu_);
  // Failure reasons that came before the executor's stream closed.
  absl::flat_hash_map<std::string, Failure> failed_ ABSL_GUARDED_BY(mu_);
  std::string last_unregistered_failure_ ABSL_GUARDED_BY(mu_);
  int speculative_launches_ ABSL_GUARDED_BY(mu_) = 0;   // of the task sets that ended
  std::vector<Event> events_out_ ABSL_GUARDED_BY(mu_);  // posted, not yet on the bus
};

}  // namespace kiln::internal
