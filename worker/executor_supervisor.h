#pragma once
// ExecutorSupervisor: the loop that watches a worker's executor processes. Every tick it
// kills executors above their memory limit, reaps exited executors through the
// ExecutorTable (which also escalates overdue kills to SIGKILL), reports each exit to
// the master (EXITED for status 0, KILLED when the worker stopped it, FAILED otherwise,
// with the reason and the tail of its stderr), and deletes the
// directories of finished applications once their executors are gone (their shuffle
// files live there, so not before).
//
// Thread-safe. Start()/Stop() once each; Stop() waits for the tick in progress.

#include <chrono>
#include <functional>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/background.h"
#include "worker/executor_table.h"
#include "worker/state_reporter.h"

namespace kiln::worker {

struct ExecutorSupervisorOptions {
  std::string work_dir;         // absolute
  bool cleanup_enabled = true;  // kiln.worker.cleanup.enabled
  // kiln.worker.cleanup.keepFailedAppLogs: of an application that did not end FINISHED,
  // the cleanup keeps executor-<n>/stdout and stderr.
  bool keep_failed_logs = true;
  std::chrono::milliseconds tick{50};
  // Called (on the loop's thread; must not block) for each executor that FAILED, with
  // the message reported to the master, so that its driver can learn why.
  // `crashed_task_id`: the task its crash report names, or -1.
  std::function<void(const ExecutorSpec&, const std::string& message, int exit_code,
                     int64_t crashed_task_id)>
      on_failure;
};

class ExecutorSupervisor {
 public:
  ExecutorSupervisor(ExecutorSupervisorOptions options, ExecutorTable* table,
                     StateReporter* reporter);

  void Start() { loop_.Start(); }
  void Stop() { loop_.Stop(); }

  // Deletes <work_dir>/<app_id> once the application has no executors left (when
  // cleanup is enabled); of a `failed` one, all but its executors' logs (when
  // keep_failed_logs). `app_id` must be a safe path component.
  void CleanUpWhenIdle(const std::string& app_id, bool failed = false);

  // One tick of the loop; public so that the worker can run a last one at shutdown.
  void Tick();

 private:
  void ReportExit(const ExecutorExit& exit);

  const ExecutorSupervisorOptions options_;
  ExecutorTable* const table_;
  StateReporter* const reporter_;
  absl::Mutex mu_;
  std::map<std::string, bool> pending_cleanups_ ABSL_GUARDED_BY(mu_);  // app id -> failed
  PeriodicThread loop_;                                                // last: stopped first
};

}  // namespace kiln::worker
