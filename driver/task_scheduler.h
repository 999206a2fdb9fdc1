#pragma once
// TaskScheduler: gives the tasks of the running stage to free executor cores, in
// batches (one LaunchTasks message per executor per scheduling round), retries failed
// tasks up to kiln.task.maxFailures, and reschedules the tasks of a lost executor.
// While a stage's tasks are short (their mean run time below short_task), each
// executor also gets launch_ahead tasks per core queued behind the running ones, so
// its cores never wait a round trip for their next task.
// A task whose input is cached on some executors (see CacheTracker) waits for one of
// them, up to locality_wait since the set's last launch on a preferred executor
// (Spark's delay scheduling, one timer per task set), then runs wherever a core is
// free.
// One task set runs at a time. Thread-safe: statuses arrive on executor threads while
// the job thread waits in RunTaskSet; no lock is held while launching.

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "driver/cache_tracker.h"
#include "driver/executor_handle.h"
#include "proto/driver.pb.h"

namespace kiln::internal {

struct TaskSpec {
  int partition = 0;
  std::string split;
  std::vector<std::string> preferred;  // executors holding its cached input, best first
};

struct TaskSet {
  proto::StagePlan plan;
  std::vector<TaskSpec> tasks;
};

// A finished task: its status and where it ran.
struct TaskResult {
  proto::TaskStatus status;
  ExecutorInfo executor;
};

struct FetchFailed {
  int shuffle_id = 0;
  int map_id = 0;
  std::string address;
  std::string message;
};

struct TaskSetOutcome {
  absl::Status status;                  // OK, or why the stage failed for good
  std::optional<FetchFailed> fetch_failed;
  std::vector<TaskResult> results;      // per task (valid when status is OK)
};

struct TaskSchedulerOptions {
  int max_failures = 4;                  // kiln.task.maxFailures
  size_t max_launch_bytes = 16 << 20;    // split LaunchTasks messages past this size
  int launch_ahead = 2;                  // kiln.scheduler.launchAhead
  std::chrono::nanoseconds short_task = std::chrono::milliseconds(20);
  std::chrono::milliseconds locality_wait{3000};  // kiln.locality.wait
  const Clock* clock = RealClock::Get();
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
  // Tasks running there go back to the queue (not counted as failures).
  void RemoveExecutor(const std::string& executor_id, const std::string& reason);
  void OnStatuses(const std::string& executor_id, std::vector<proto::TaskStatus> statuses);

  int TotalCores() const;
  int ExecutorCount() const;
  // Waits until the executors have at least `cores` cores; false on timeout or Stop.
  bool WaitForCores(int cores, std::chrono::milliseconds timeout);

  // Runs the task set to the end: every task finished, a task failed max_failures
  // times, a fetch failure, or Stop().
  TaskSetOutcome RunTaskSet(TaskSet set);

  // Tells every executor to drop its cached blocks of `dataset`.
  void RemoveDataset(int dataset);

  // Ends any wait with an error; later task sets fail at once.
  void Stop(const std::string& reason);

  StageProgress Progress() const;

 private:
  struct Executor {
    std::shared_ptr<ExecutorHandle> handle;
    int cores = 0;
    int free_cores = 0;  // below 0 when tasks are launched ahead
    absl::flat_hash_map<std::string, bool> known_plans;  // stage keys sent to it
  };
  struct Running {
    std::string executor_id;
    int index = 0;          // task index in the set
    uint64_t generation = 0;  // task set it belongs to
  };
  struct Launch {
    std::shared_ptr<ExecutorHandle> handle;
    proto::LaunchTasks message;
  };

  // Assigns queued tasks to free cores; returns the messages to send.
  std::vector<Launch> AssignLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SendLaunches(std::vector<Launch> launches) ABSL_LOCKS_EXCLUDED(mu_);
  void HandleStatusLocked(const std::string& executor_id, proto::TaskStatus& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool SetDoneLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Tasks an executor with `cores` cores may hold beyond its cores right now.
  int LaunchAheadLocked(int cores) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues a task: for its live preferred executors, or for any.
  void EnqueueLocked(int index) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The next task for executor `id` (-1: none may run there now). `local` tells whether
  // it prefers `id`.
  int NextTaskLocked(const std::string& id, bool* local) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether queued tasks wait for their preferred executors; `left` is how long yet.
  bool DelayingLocked(std::chrono::nanoseconds* left) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const TaskSchedulerOptions options_;
  CacheTracker* const cache_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Executor> executors_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> executor_order_ ABSL_GUARDED_BY(mu_);  // round-robin order
  size_t next_executor_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<int64_t, Running> running_ ABSL_GUARDED_BY(mu_);
  int64_t next_task_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::string stopped_ ABSL_GUARDED_BY(mu_);

  // The active task set.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool active_ ABSL_GUARDED_BY(mu_) = false;
  TaskSet set_ ABSL_GUARDED_BY(mu_);
  // Task indices waiting for a core. A task with preferred executors sits in the
  // queue of each of them and in preferring_; one without (or whose preferred
  // executors are gone) in anywhere_. queued_ tells which entries are still waiting
  // (a task leaves every queue when it is taken from one).
  std::deque<int> anywhere_ ABSL_GUARDED_BY(mu_);
  std::deque<int> preferring_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::deque<int>> local_ ABSL_GUARDED_BY(mu_);
  std::vector<char> queued_ ABSL_GUARDED_BY(mu_);
  int waiting_ ABSL_GUARDED_BY(mu_) = 0;  // tasks queued
  std::chrono::steady_clock::time_point last_local_launch_ ABSL_GUARDED_BY(mu_);
  bool delay_armed_ ABSL_GUARDED_BY(mu_) = false;  // a task began to wait for locality
  std::vector<int> attempts_ ABSL_GUARDED_BY(mu_);
  std::vector<int> failures_ ABSL_GUARDED_BY(mu_);
  std::vector<std::optional<TaskResult>> results_ ABSL_GUARDED_BY(mu_);
  int done_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t finished_nanos_ ABSL_GUARDED_BY(mu_) = 0;  // summed run time of the done tasks
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  std::optional<FetchFailed> fetch_failed_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kiln::internal
