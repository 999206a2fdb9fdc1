#pragma once
// AppStatusStore: an application's status built from its events (Spark's AppStatusStore):
// its jobs, stage attempts with their task attempts and summed metrics, executors and
// cached blocks. The driver keeps one as a listener of its bus; kiln-doctor and the
// history server build one by replaying an event log. The job doctor and the UI read it.
//
// Bounded as Spark's UI is: at most `retained_stages` finished stage attempts and
// `retained_jobs` finished jobs are kept (the oldest go first), and at most
// `retained_tasks` task attempts per stage: past it, the oldest finished ones go, a tenth
// of the limit at a time as in Spark (the stage's sums still count them).
//
// Applying a task's start or end appends to or updates one row in place: a stage keeps its
// tasks in one vector in the order the store learned of them (two executors' ends
// interleave: keeping the rows in id order moved rows on most ends, 40% of the store's
// work), and a row is small (TaskRow), allocating only for a task with many figures.
// Readers that show tasks in id order sort pointers (TasksById).
//
// Thread-safe.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "driver/events.h"

namespace kiln::internal {

// Where task attempts ran: an executor and its host. The store keeps one per pair, which
// its rows point at, instead of two strings in each of 100,000 rows.
struct TaskPlace {
  std::string executor_id;
  std::string host;
  auto operator<=>(const TaskPlace&) const = default;
};

// A task attempt as the store keeps it: TaskAttempt's figures without the stage (its
// StageRow's), the place interned and the metrics packed: 120 bytes, where a TaskAttempt
// and TaskMetrics side by side were 344, whose page faults at 100,000 tasks were about
// half of what the store cost the scheduler.
struct TaskRow {
  int64_t task_id = 0;
  int64_t launch_ms = 0;
  int64_t finish_ms = 0;
  int index = 0;  // in the stage attempt
  int partition = 0;
  int attempt = 0;
  TaskState state = TaskState::kRunning;
  bool speculative = false;
  const TaskPlace* place = &kNoPlace;  // the store's, which outlives its rows
  std::string error;
  runtime::PackedTaskMetrics packed_metrics;
  // Of its metrics, what it read (shuffle and input bytes): the job doctor looks at every
  // row's at the end of every job.
  int64_t read_bytes = 0;

  const std::string& executor_id() const { return place->executor_id; }
  const std::string& host() const { return place->host; }
  runtime::TaskMetrics metrics() const { return packed_metrics.Unpack(); }
  bool finished() const { return state != TaskState::kRunning; }
  int64_t duration_ms() const { return finished() ? finish_ms - launch_ms : 0; }

  static const TaskPlace kNoPlace;
};

struct StageRow {
  StageSubmitted info;
  std::string status = "ACTIVE";  // ACTIVE, COMPLETE, FAILED
  std::string failure;
  int64_t completed_ms = 0;
  std::vector<AccumulableInfo> accumulables;  // named accumulators it changed
  // In the order the store learned of them: at its start for an attempt whose start was
  // posted, else at its end. Mostly, not always, by task id.
  std::vector<TaskRow> tasks;
  // Where in `tasks` each attempt that started and has not ended is: for its end.
  absl::flat_hash_map<int64_t, size_t> running_rows;
  // The row of a task attempt; nullptr when it is not (or no longer) kept. A scan.
  const TaskRow* FindTask(int64_t task_id) const;
  // Its rows by task id (launch order).
  std::vector<const TaskRow*> TasksById() const;
  int active_tasks = 0, succeeded_tasks = 0, failed_tasks = 0, killed_tasks = 0;
  runtime::TaskMetrics totals;  // over succeeded attempts
};

struct JobRow {
  JobStart info;
  std::string status = "RUNNING";  // RUNNING, SUCCEEDED, FAILED
  std::string error;
  int64_t end_ms = 0;
  std::vector<std::pair<int, int>> stages;  // (stage id, attempt), in submission order
};

struct ExecutorRow {
  ExecutorAdded info;
  bool active = true;
  int64_t removed_ms = 0;
  std::string removed_reason;
  bool failed = false;
  int active_tasks = 0, succeeded_tasks = 0, failed_tasks = 0;
  int64_t task_time_ms = 0;
  runtime::TaskMetrics totals;  // over its succeeded attempts
};

struct BlockRow {
  int dataset = 0;
  int partition = 0;
  std::string executor_id;
  int64_t bytes = 0;
  bool disk = false;
};

struct DatasetRow {
  std::string name;
  int num_partitions = 0;
  std::string storage_level;
};

struct AppState {
  std::optional<ApplicationStart> app;
  std::optional<ApplicationEnd> end;
  std::map<int, JobRow> jobs;
  std::map<std::pair<int, int>, StageRow> stages;  // by (stage id, attempt)
  std::map<std::string, ExecutorRow> executors;
  std::map<std::tuple<int, int, std::string>, BlockRow> blocks;  // (dataset, partition, exec)
  std::map<int, DatasetRow> datasets;                            // persisted, by id
  // Over every task attempt of the application (also those no longer retained).
  int64_t tasks_running = 0, tasks_succeeded = 0, tasks_failed = 0, tasks_killed = 0;
  runtime::TaskMetrics totals;  // of the succeeded attempts

  // The cores of the executors alive now (or at the end).
  int ActiveCores() const;
  // What cached blocks hold, of one dataset or on one executor.
  struct BlockUse {
    int blocks = 0;
    int partitions = 0;  // distinct
    int64_t memory_bytes = 0;
    int64_t disk_bytes = 0;
  };
  BlockUse DatasetBlocks(int dataset) const;
  BlockUse ExecutorBlocks(const std::string& executor_id) const;
};

struct AppStatusLimits {
  int retained_jobs = 1000;     // kiln.ui.retainedJobs
  int retained_stages = 1000;   // kiln.ui.retainedStages
  int retained_tasks = 100000;  // kiln.ui.retainedTasks
};

class AppStatusStore final : public EventListener {
 public:
  explicit AppStatusStore(AppStatusLimits limits = {}) : limits_(limits) {}

  void OnEvent(const Event& event) override;
  void OnEvents(std::span<const Event> events) override;

  // Runs `read(const AppState&)` under the store's lock and returns what it returns.
  template <class F>
  auto Read(F&& read) const {
    absl::MutexLock lock(&mu_);
    return read(static_cast<const AppState&>(state_));
  }

 private:
  void ApplyLocked(const Event& event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TaskStartedLocked(const TaskStart& start) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TaskEndedLocked(const TaskEnd& end) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Forgets the oldest finished tasks of `stage` once it keeps more than the limit.
  void TrimTasks(StageRow& stage) const;
  // A task's stage attempt and executor, nullptr when unknown. Looked up for every task
  // event: the last stage and executor found are remembered (an executor's statuses
  // come in batches).
  StageRow* FindStageLocked(int stage_id, int attempt) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ExecutorRow* FindExecutorLocked(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The interned place of an attempt: the last one found, mostly.
  const TaskPlace* PlaceLocked(const TaskAttempt& task) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TrimLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const AppStatusLimits limits_;
  mutable absl::Mutex mu_;
  AppState state_ ABSL_GUARDED_BY(mu_);
  // Into state_.stages, whose nodes stay put until erased.
  std::pair<int, int> last_stage_key_ ABSL_GUARDED_BY(mu_);
  StageRow* last_stage_ ABSL_GUARDED_BY(mu_) = nullptr;  // reset when stages are trimmed
  // The last executor found (state_.executors never erases one).
  ExecutorRow* last_executor_ ABSL_GUARDED_BY(mu_) = nullptr;
  // By id, for task events: a hash lookup, not a walk down the ordered map's strings.
  absl::flat_hash_map<std::string, ExecutorRow*> executor_rows_ ABSL_GUARDED_BY(mu_);
  // Every place a row points at; never erased (a node's address is stable).
  std::set<TaskPlace> places_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, const TaskPlace*> place_by_executor_ ABSL_GUARDED_BY(mu_);
  const TaskPlace* last_place_ ABSL_GUARDED_BY(mu_) = &TaskRow::kNoPlace;
};

}  // namespace kiln::internal
