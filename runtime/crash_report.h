#pragma once
// Crash reports: which task ended its executor. An executor runs several tasks at once;
// when one of them crashes the process (a fatal signal such as SIGSEGV or SIGABRT, or a
// call to exit()), the thread that dies is the task's own. The handlers installed here
// write that task (kCrashedTaskFile in the executor's dir, the format of
// FormatCrashedTask) before the process dies as it would have, and say it on stderr.
// The worker passes the task id to the driver, which then counts the failure against
// that task alone instead of every task that was running there (Spark's rule when the
// culprit is unknown). `_Exit` and SIGKILL leave no report.
//
// SetCurrentTask/ClearCurrentTask are per thread; InstallCrashReport once per process.

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace kiln::runtime {

// The calling thread runs `task_id` (stage, partition) until ClearCurrentTask.
void SetCurrentTask(int64_t task_id, int stage_id, int partition);
void ClearCurrentTask();

// Opens `path` (truncating it) and installs the handlers that write it.
absl::Status InstallCrashReport(const std::string& path);

}  // namespace kiln::runtime
