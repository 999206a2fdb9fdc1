#include "worker/executor_supervisor.h"

#include <unistd.h>

#include <filesystem>

#include "common/executor_command.h"
#include "common/files.h"
#include "common/shuffle_files.h"
#include "common/status.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"
#include "worker/log_tail.h"

namespace kiln::worker {

ExecutorSupervisor::ExecutorSupervisor(ExecutorSupervisorOptions options, ExecutorTable* table,
                                       StateReporter* reporter)
    : options_(std::move(options)),
      table_(table),
      reporter_(reporter),
      loop_(options_.tick, [this] { Tick(); }) {}

void ExecutorSupervisor::CleanUpWhenIdle(const std::string& app_id, bool failed) {
  absl::MutexLock lock(&mu_);
  pending_cleanups_[app_id] = failed;
}

namespace {

// Deletes everything under an application's dir but its executors' stdout and stderr.
absl::Status RemoveAllButLogs(const std::string& app_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(app_dir, ec)) {
    const bool executor_dir =
        e.is_directory(ec) && e.path().filename().string().starts_with("executor-");
    if (!executor_dir) {
      RETURN_IF_ERROR(RemoveAll(e.path().string()));
      continue;
    }
    for (const fs::directory_entry& f : fs::directory_iterator(e.path(), ec)) {
      const std::string name = f.path().filename().string();
      if (name != "stdout" && name != "stderr") RETURN_IF_ERROR(RemoveAll(f.path().string()));
    }
  }
  if (ec) return absl::InternalError(StrCat("cannot list ", app_dir, ": ", ec.message()));
  return absl::OkStatus();
}

}  // namespace

void ExecutorSupervisor::Tick() {
  // RUNNING before the exits this tick reaps: the master never hears of an exit first.
  for (const ExecutorView& e : table_->TakeRegistered()) {
    reporter_->Report(e.spec.app_id, e.spec.executor_id, proto::EXECUTOR_RUNNING,
                      StrCat("registered with its driver (pid ", e.pid, ")"));
  }
  table_->EnforceMemoryLimits();
  for (const ExecutorExit& exit : table_->Poll()) ReportExit(exit);
  std::map<std::string, bool> cleanups;
  {
    absl::MutexLock lock(&mu_);
    cleanups.swap(pending_cleanups_);
  }
  std::map<std::string, bool> later;
  for (const auto& [app_id, failed] : cleanups) {
    if (table_->HasExecutors(app_id)) {
      later[app_id] = failed;
      continue;
    }
    if (!options_.cleanup_enabled) continue;
    const std::string dir = StrCat(options_.work_dir, "/", app_id);
    if (access(dir.c_str(), F_OK) != 0) continue;  // nothing ran here
    const bool keep_logs = failed && options_.keep_failed_logs;
    ForgetShuffleFiles(dir);  // the shuffle service's open files would hold the space
    absl::Status removed = keep_logs ? RemoveAllButLogs(dir) : RemoveAll(dir);
    if (!removed.ok()) {
      spdlog::warn("app={}: {}", app_id, View(removed.message()));
    } else if (keep_logs) {
      spdlog::info("deleted work dir of failed app={} dir={}, keeping its executors' logs", app_id,
                   dir);
    } else {
      spdlog::info("deleted work dir of finished app={} dir={}", app_id, dir);
    }
  }
  if (!later.empty()) {
    absl::MutexLock lock(&mu_);
    pending_cleanups_.insert(later.begin(), later.end());
  }
}

void ExecutorSupervisor::ReportExit(const ExecutorExit& exit) {
  const ExecutorSpec& spec = exit.spec;
  // Written only when a task's own thread ended the process (runtime/crash_report.h).
  const int64_t crashed_task =
      exit.killed ? -1 : CrashedTaskId(TailOfFile(StrCat(exit.dir, "/", kCrashedTaskFile), 1));
  proto::ExecutorState state;
  std::string message;
  if (exit.killed && exit.app_ended) {
    // The normal end of an executor: its application ended and the worker stopped it.
    state = proto::EXECUTOR_EXITED;
    message = StrCat("its application ended (", exit.exit.ToString(), ")");
  } else if (exit.killed) {
    state = proto::EXECUTOR_KILLED;
    message = StrCat("stopped by the worker (", exit.exit.ToString(), ")");
  } else if (!exit.failure.empty()) {
    state = proto::EXECUTOR_FAILED;
    message = exit.failure;
    std::string tail = TailOfFile(StrCat(exit.dir, "/stderr"), 10);
    if (!tail.empty()) StrAppend(&message, "; last lines of its stderr:\n", tail);
  } else if (!exit.exit.signaled && exit.exit.exit_code == 0 && crashed_task < 0) {
    state = proto::EXECUTOR_EXITED;
    message = "exited normally";
  } else {
    state = proto::EXECUTOR_FAILED;  // exit code 0 too, when a task called exit(0)
    message = StrCat("executor ", exit.exit.ToString());
    if (crashed_task >= 0) StrAppend(&message, " from its task ", crashed_task);
    std::string tail = TailOfFile(StrCat(exit.dir, "/stderr"), 10);
    if (!tail.empty()) StrAppend(&message, "; last lines of its stderr:\n", tail);
  }
  spdlog::info("executor ended app={} executor={} state={} ({})", spec.app_id, spec.executor_id,
               proto::ExecutorState_Name(state), exit.exit.ToString());
  if (state == proto::EXECUTOR_FAILED) {
    spdlog::warn("app={} executor={} failed: {}", spec.app_id, spec.executor_id, message);
    if (options_.on_failure) options_.on_failure(spec, message, exit.exit.code(), crashed_task);
  }
  reporter_->Report(spec.app_id, spec.executor_id, state, message, exit.exit.code());
}

}  // namespace kiln::worker
