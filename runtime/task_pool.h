#pragma once
// TaskPool: an executor's task threads (one per core). Tasks arrive in batches with
// the stage plans they need; finished tasks' statuses go to a callback, called on the
// task thread without any pool lock held. Thread-safe.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/background.h"
#include "proto/driver.pb.h"
#include "runtime/task_runner.h"

namespace kiln::runtime {

class TaskPool {
 public:
  using StatusCallback = std::function<void(proto::TaskStatus)>;

  TaskPool(int threads, ExecutorEnv env, StatusCallback on_status);
  ~TaskPool();  // Stop()

  // Queues the tasks (plans first). Tasks whose plan is unknown fail at once.
  void Submit(const proto::LaunchTasks& launch);
  // Queued tasks among `task_ids` end TASK_KILLED without running; running ones stop at
  // their next batch of records (TaskKilled()). Unknown or ended ids are ignored.
  void Kill(const std::vector<int64_t>& task_ids);
  // Kills running tasks, drops queued ones, joins the threads.
  void Stop();

 private:
  using KillFlag = std::shared_ptr<std::atomic<bool>>;
  struct Queued {
    std::shared_ptr<const proto::StagePlan> plan;
    proto::TaskDescription task;
    KillFlag killed;
  };
  void Run(Queued& queued);

  const ExecutorEnv env_;
  const StatusCallback on_status_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<const proto::StagePlan>> plans_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int64_t, KillFlag> kill_flags_ ABSL_GUARDED_BY(mu_);  // queued, running
  WorkQueue<Queued> queue_;                                                 // last: stopped first
};

}  // namespace kiln::runtime
