#pragma once
// TaskSetManager: one running task set (a stage attempt), as Spark's TaskSetManager: the
// tasks waiting for a core and where they would rather run (delay scheduling), their
// attempts and failures, their results, and whether the set is done — every task
// finished, a task failed kiln.task.maxFailures times, or a fetch failure asks for the
// map stage again. It knows nothing of threads, cores or RPCs: the TaskScheduler offers
// it executors and hands it statuses under its own lock.
//
// Delay scheduling: a task whose input is cached on some live executors sits in their
// queues and waits for one of them, up to `locality_wait` since the set's last launch on
// a preferred executor (one timer per task set, as Spark's), then runs wherever a core
// is free. A task with no live preferred executor runs anywhere at once.
//
// Speculation (kiln.speculation, Spark's rules): once `speculation_quantile` of the
// tasks have finished, a task whose only attempt has run longer than
// `speculation_multiplier` times the median finished task (and at least
// `speculation_min_runtime`) gets a second attempt on another executor, after every
// queued task. The first attempt to finish gives the task's result; the scheduler kills
// the other, whose status is then ignored, so that one output per task is committed.
//
// Not thread-safe. Time comes from the injected clock, so tests drive it with a
// FakeClock alone.

#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "common/clock.h"
#include "driver/executor_handle.h"
#include "proto/driver.pb.h"
#include "runtime/task_metrics.h"

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
  std::shared_ptr<const ExecutorInfo> executor;
};

struct FetchFailed {
  int shuffle_id = 0;
  int map_id = 0;
  std::string address;
  std::string message;
};

struct TaskSetOutcome {
  absl::Status status;  // OK, or why the stage failed for good
  std::optional<FetchFailed> fetch_failed;
  std::vector<TaskResult> results;  // per task (valid when status is OK)
};

struct TaskSetOptions {
  int max_failures = 4;  // kiln.task.maxFailures
  int launch_ahead = 2;  // kiln.scheduler.launchAhead
  std::chrono::nanoseconds short_task = std::chrono::milliseconds(20);
  std::chrono::milliseconds locality_wait{3000};  // kiln.locality.wait
  int64_t max_result_bytes = 0;                   // kiln.driver.maxResultSize; 0 = no limit
  bool speculation = false;                       // kiln.speculation
  double speculation_multiplier = 1.5;            // kiln.speculation.multiplier
  double speculation_quantile = 0.75;             // kiln.speculation.quantile
  std::chrono::milliseconds speculation_min_runtime{100};  // kiln.speculation.minTaskRuntime
  const Clock* clock = RealClock::Get();
};

class TaskSetManager {
 public:
  // Whether an executor is registered now.
  using IsLive = std::function<bool(const std::string& executor_id)>;

  // Queues every task of `set`.
  TaskSetManager(TaskSet set, TaskSetOptions options, IsLive is_live);

  const TaskSet& set() const { return set_; }
  const TaskSpec& task(int index) const { return set_.tasks[static_cast<size_t>(index)]; }

  // The task to launch on `executor_id` now, or -1: a task that prefers it, else one
  // without a live preference, else — once the locality wait has run out — one that
  // prefers another executor. The task leaves every queue and its attempt is counted:
  // the returned task's attempt number is attempts(index) - 1. A task that failed on
  // `executor_id` goes elsewhere while one of the `live_executors` has not failed it (a
  // retry on the executor whose disk or memory just failed it would meet the same fault).
  int NextTask(const std::string& executor_id, int live_executors = 1);
  int attempts(int index) const { return attempts_[static_cast<size_t>(index)]; }

  // Tasks an executor with `cores` cores may hold beyond them now, while the set's
  // finished tasks ran shorter than short_task on average (none before any has
  // finished, none with launch_ahead 0): per core, launch_ahead, or as many as take
  // kLaunchAheadWindow on average if that is more (at most kMaxLaunchAhead).
  int LaunchAhead(int cores) const;
  static constexpr std::chrono::nanoseconds kLaunchAheadWindow = std::chrono::milliseconds(2);
  // 256: 100,000 empty tasks on two one-core executors ran 25% faster than with 64
  // (more tasks per message each way), and no faster with 512.
  static constexpr int64_t kMaxLaunchAhead = 256;

  // The end of a launched attempt of task `index`, run on `where`. A failure queues the
  // task again (unless another attempt of it still runs), or fails the set after
  // max_failures; a fetch failure ends the set; a result that takes the set's results
  // past max_result_bytes fails it. Statuses of a task that has its result are ignored.
  void OnStatus(int index, proto::TaskStatus status, std::shared_ptr<const ExecutorInfo> where);
  // The attempt on `executor_id` was lost with its executor: queued again (unless
  // another attempt of it still runs), not counted as a failure.
  void Requeue(int index, const std::string& executor_id);
  // Marks the tasks that run too long for speculation (see above); returns how many
  // became speculatable now. A no-op without kiln.speculation.
  int CheckSpeculation();
  // Executors running an attempt of task `index` now.
  const std::vector<std::string>& running_on(int index) const {
    return running_on_[static_cast<size_t>(index)];
  }
  // Speculative attempts launched so far.
  int speculative_launches() const { return speculative_launches_; }
  // The executor that ran an attempt of task `index` (already requeued) died of the
  // application's doing (`error`: why, as its worker saw it): counts as a failure of the
  // task, which may fail the set. Ignored once the task has finished.
  // `so_far`: what the attempt had spilled when its executor died, named in the error.
  void CountLostAttempt(int index, const ExecutorInfo& where, const std::string& error,
                        const runtime::TaskMetrics& so_far = {});
  // An executor is gone: the tasks that waited for it alone may run anywhere now.
  void ExecutorLost(const std::string& executor_id);

  bool has_result(int index) const { return has_result_[static_cast<size_t>(index)] != 0; }
  // Tasks wait for a core: queued ones, or speculatable ones without their copy yet.
  bool waiting() const { return waiting_ > 0 || !speculatable_.empty(); }
  int waiting_count() const { return waiting_ + static_cast<int>(speculatable_.size()); }
  int finished() const { return done_; }
  bool Done() const;
  // Whether queued tasks hold back for their preferred executors; `left`: how long yet.
  bool Delaying(std::chrono::nanoseconds* left) const;
  // True when a task began to wait for its preferred executors since the last call
  // (the caller's locality timer needs arming again).
  bool locality_armed() const { return locality_armed_; }
  void ClearLocalityArmed() { locality_armed_ = false; }

  // The outcome, once Done(); the results are moved out.
  TaskSetOutcome TakeOutcome();

 private:
  void Enqueue(int index);
  // Counts a failed attempt of task `index` on `where`; fails the set at max_failures,
  // else queues the task again if `requeue`.
  // `at_detail` is appended to where it failed ("executor 3, host H; <detail>").
  void CountFailure(int index, const ExecutorInfo& where, const std::string& error, bool requeue,
                    const std::string& at_detail = "");
  // The first task of `queue` that `executor_id` may take (see NextTask), out of every
  // queue; -1 if none.
  int Take(std::deque<int>& queue, const std::string& executor_id, int live_executors);
  // Whether task `index` failed on `executor_id` and some live executor has not failed it.
  bool GoesElsewhere(int index, const std::string& executor_id, int live_executors) const;
  // A speculative copy for `executor_id` (not running the task already), or -1.
  int TakeSpeculative(const std::string& executor_id);
  // Counts an attempt of `index` started on `executor_id` now.
  void Launched(int index, const std::string& executor_id);
  // The attempt on `executor_id` ended; true when another attempt of the task still runs.
  bool AttemptEnded(int index, const std::string& executor_id);

  const TaskSet set_;
  const TaskSetOptions options_;
  const IsLive is_live_;
  // Task indices waiting for a core. A task with live preferred executors sits in the
  // queue of each of them and in preferring_; one without in anywhere_. queued_ tells
  // which entries are still waiting (a task leaves every queue when taken from one).
  std::deque<int> anywhere_;
  std::deque<int> preferring_;
  absl::flat_hash_map<std::string, std::deque<int>> local_;
  std::vector<char> queued_;
  std::vector<std::vector<std::string>> failed_on_;  // per task: executors it failed on
  int waiting_ = 0;
  std::chrono::steady_clock::time_point last_local_launch_;
  bool locality_armed_ = false;
  std::vector<int> attempts_;
  std::vector<int> failures_;
  // Per task, in place: TakeOutcome hands the vector over whole (a second vector of
  // 100,000 results, moved one by one, was the driver's largest allocation).
  std::vector<TaskResult> results_;
  std::vector<char> has_result_;
  int done_ = 0;
  // Speculation: per task, the executors running an attempt and when the first of the
  // running attempts started; the finished tasks' durations; tasks due a copy.
  std::vector<std::vector<std::string>> running_on_;
  std::vector<std::chrono::steady_clock::time_point> started_;
  std::vector<char> speculated_;  // a copy was asked for (once per task)
  std::vector<int64_t> durations_nanos_;
  std::deque<int> speculatable_;
  int speculative_launches_ = 0;
  int64_t finished_nanos_ = 0;  // summed run time of the finished tasks
  int64_t result_bytes_ = 0;    // summed size of the finished tasks' results
  absl::Status failure_;
  std::optional<FetchFailed> fetch_failed_;
};

}  // namespace kiln::internal
