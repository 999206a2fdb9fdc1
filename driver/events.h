#pragma once
// What happens in an application, as events: the application, its jobs, their stage
// attempts, every task attempt with its metrics, executors coming and going, cached
// blocks. The schedulers post them to the EventBus (event_bus.h); listeners build the
// application's status (app_status.h), write the event log (event_log.h) and feed the job
// doctor. Plain values; times are milliseconds since the Unix epoch.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "runtime/task_metrics.h"

namespace kiln::internal {

struct ApplicationStart {
  std::string app_id;
  std::string app_name;
  std::string master;  // kiln.master
  std::string user;
  std::string kiln_version;
  int64_t time_ms = 0;
  // Every setting with its value and where it came from ("default", "conf"), secrets
  // redacted.
  struct Setting {
    std::string key;
    std::string value;
    std::string source;
  };
  std::vector<Setting> settings;
};

struct ApplicationEnd {
  std::string final_state;  // FINISHED, FAILED, KILLED
  int64_t time_ms = 0;
};

struct JobStart {
  int job_id = 0;
  std::string action;  // "count", "save_as_text_file", ...
  int partitions = 0;  // of the final stage
  int64_t time_ms = 0;
};

struct JobEnd {
  int job_id = 0;
  bool succeeded = false;
  std::string error;  // when it failed
  int64_t time_ms = 0;
};

struct StageSubmitted {
  int stage_id = 0;
  int attempt = 0;
  int job_id = 0;
  std::string name;  // the operator that ends the stage
  int num_tasks = 0;
  int num_partitions = 0;  // of the stage's dataset (tasks may be fewer)
  int shuffle_id = -1;     // the shuffle a map stage writes; -1 for the job's result stage
  // How the stage's partitions of a shuffle it reads were made: "hash" (partition p
  // holds the keys with hash(key) % num_partitions == p), "range" (sort_by_key's key
  // ranges), "round-robin" (repartition); "" when it reads no shuffle.
  std::string read_partitioning;
  int64_t time_ms = 0;
};

// A named accumulator that a stage changed (Spark's AccumulableInfo): the stage's
// update and the value after it, as shown to people (a sum, or "N items").
struct AccumulableInfo {
  int64_t id = 0;
  std::string name;
  std::string update;
  std::string value;
};

struct StageCompleted {
  int stage_id = 0;
  int attempt = 0;
  std::string failure;  // "" = succeeded
  int64_t time_ms = 0;
  std::vector<AccumulableInfo> accumulables;  // when it succeeded
};

// One attempt of one task, as launched.
struct TaskAttempt {
  int64_t task_id = 0;
  int stage_id = 0;
  int stage_attempt = 0;
  int index = 0;  // in the stage attempt
  int partition = 0;
  int attempt = 0;
  bool speculative = false;
  std::string executor_id;
  std::string host;
  int64_t launch_ms = 0;
};

struct TaskStart {
  TaskAttempt task;
};

// Where an attempt stands: running, or how it ended.
enum class TaskState : uint8_t {
  kRunning,
  kSuccess,
  kFailed,
  kFetchFailed,
  kKilled,
  kExecutorLost
};

// Spark's names for them, as the event log, the UI and the REST API show them.
inline constexpr std::array<std::string_view, 6> kTaskStateNames = {
    "RUNNING", "SUCCESS", "FAILED", "FETCH_FAILED", "KILLED", "EXECUTOR_LOST"};
inline std::string_view TaskStateName(TaskState state) {
  return kTaskStateNames[static_cast<size_t>(state)];
}
inline std::optional<TaskState> ParseTaskState(std::string_view name) {
  for (size_t i = 0; i < kTaskStateNames.size(); ++i) {
    if (kTaskStateNames[i] == name) return static_cast<TaskState>(i);
  }
  return std::nullopt;
}

struct TaskEnd {
  TaskAttempt task;
  TaskState state = TaskState::kFailed;
  std::string error;  // when not SUCCESS
  int64_t finish_ms = 0;
  runtime::TaskMetrics metrics;
  // Whether its TaskStart was posted: a task that ended before anyone asked for running
  // tasks has none (TaskSchedulerOptions::eager_task_starts). Not logged: a log has them all.
  bool started = true;
};

struct ExecutorAdded {
  std::string executor_id;
  std::string host;
  int cores = 0;
  std::string worker_id;
  std::string log_url;  // <log_url>/stdout and /stderr on its worker; "" when unknown
  int64_t time_ms = 0;
};

struct ExecutorRemoved {
  std::string executor_id;
  std::string reason;
  bool failed = false;  // died of the application's doing (crash, memory limit)
  int64_t time_ms = 0;
};

struct BlockUpdated {
  std::string executor_id;
  int dataset = 0;
  int partition = 0;
  bool stored = false;  // false: dropped
  bool disk = false;
  int64_t bytes = 0;
  int64_t time_ms = 0;
};

// A dataset was persisted (cache/persist) or unpersisted: its blocks are BlockUpdated's.
struct DatasetPersisted {
  int dataset = 0;
  std::string name;  // its operator ("map", "group_by_key", ...)
  int num_partitions = 0;
  std::string storage_level;  // MEMORY_ONLY, MEMORY_AND_DISK, DISK_ONLY
  int64_t time_ms = 0;
};
struct DatasetUnpersisted {
  int dataset = 0;
  int64_t time_ms = 0;
};

using Event = std::variant<ApplicationStart, ApplicationEnd, JobStart, JobEnd, StageSubmitted,
                           StageCompleted, TaskStart, TaskEnd, ExecutorAdded, ExecutorRemoved,
                           BlockUpdated, DatasetPersisted, DatasetUnpersisted>;

// Receives events on the bus's thread, one at a time, in the order they were posted.
class EventListener {
 public:
  virtual ~EventListener() = default;
  virtual void OnEvent(const Event& event) = 0;
  // A batch, as the bus delivers them: a listener that locks per call takes its lock once.
  virtual void OnEvents(std::span<const Event> events) {
    for (const Event& e : events) OnEvent(e);
  }
};

}  // namespace kiln::internal
