#include "runtime/crash_report.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <cstdlib>

#include "common/executor_command.h"
#include "common/files.h"

namespace kiln::runtime {
namespace {

struct CurrentTask {
  int64_t task_id = -1;  // -1: the thread runs no task
  int stage_id = 0;
  int partition = 0;
};
thread_local CurrentTask current;
int report_fd = -1;

// Async-signal-safe: appends the decimal `v` to `out` at `*n`.
void AppendNumber(char* out, size_t* n, int64_t v) {
  char digits[24];
  size_t k = 0;
  const bool negative = v < 0;
  uint64_t u = negative ? static_cast<uint64_t>(-(v + 1)) + 1 : static_cast<uint64_t>(v);
  do {
    digits[k++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u > 0);
  if (negative) out[(*n)++] = '-';
  while (k > 0) out[(*n)++] = digits[--k];
}

void AppendText(char* out, size_t* n, const char* text) {
  while (*text != '\0') out[(*n)++] = *text++;
}

// Writes the report of the calling thread's task (if it runs one), ending with `how`.
void Report(const char* how) {
  if (current.task_id < 0) return;
  char line[160];
  size_t n = 0;
  AppendText(line, &n, "task=");
  AppendNumber(line, &n, current.task_id);
  AppendText(line, &n, " stage=");
  AppendNumber(line, &n, current.stage_id);
  AppendText(line, &n, " partition=");
  AppendNumber(line, &n, current.partition);
  AppendText(line, &n, " ");
  AppendText(line, &n, how);
  line[n++] = '\n';
  if (report_fd >= 0 && write(report_fd, line, n) < 0) {
    // Nothing to do about it while the process dies.
  }
  const char prefix[] = "crash report: ";
  if (write(STDERR_FILENO, prefix, sizeof(prefix) - 1) < 0 || write(STDERR_FILENO, line, n) < 0) {
    // As above.
  }
}

void OnFatalSignal(int sig) {
  Report(sigabbrev_np(sig) != nullptr ? sigabbrev_np(sig) : "signal");
  // SA_RESETHAND restored the default action: a fault happens again on return, a raised
  // signal is delivered again now.
  raise(sig);
}

void OnExit() { Report("exit"); }

}  // namespace

void SetCurrentTask(int64_t task_id, int stage_id, int partition) {
  current = CurrentTask{.task_id = task_id, .stage_id = stage_id, .partition = partition};
}

void ClearCurrentTask() { current = CurrentTask{}; }

absl::Status InstallCrashReport(const std::string& path) {
  absl::StatusOr<ScopedFd> fd = OpenFile(path, O_WRONLY | O_CREAT | O_TRUNC, "crash report");
  if (!fd.ok()) return fd.status();
  report_fd = fd->Release();
  struct sigaction action {};
  action.sa_handler = OnFatalSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) sigaction(sig, &action, nullptr);
  std::atexit(OnExit);
  return absl::OkStatus();
}

}  // namespace kiln::runtime
