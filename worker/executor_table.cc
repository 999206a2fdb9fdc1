#include "worker/executor_table.h"

#include <signal.h>

#include <algorithm>

#include "common/process_memory.h"
#include "common/strings.h"
#include "common/units.h"

namespace kiln::worker {

std::optional<ExitInfo> RealProcessControl::TryWait(pid_t pid) { return kiln::TryWait(pid); }

void RealProcessControl::Signal(pid_t pid, int signal) {
  // Executors lead their own process group (Spawn's new_process_group), so helpers they
  // started go too. Right after fork the child may not have made its group yet.
  if (kill(-pid, signal) != 0) kill(pid, signal);
}

absl::StatusOr<int64_t> RealProcessControl::ResidentBytes(pid_t pid) {
  return kiln::ResidentBytes(pid);
}

ExecutorTable::ExecutorTable(ProcessControl* processes, const Clock* clock,
                             std::chrono::milliseconds kill_grace)
    : processes_(processes), clock_(clock), kill_grace_(kill_grace) {}

absl::Status ExecutorTable::BeginLaunch(const ExecutorSpec& spec) {
  absl::MutexLock lock(&mu_);
  if (finished_apps_.contains(spec.app_id)) {
    return absl::FailedPreconditionError("application " + spec.app_id +
                                         " has finished; not launching its executor " +
                                         std::to_string(spec.executor_id));
  }
  Key key{spec.app_id, spec.executor_id};
  if (entries_.contains(key)) {
    return absl::AlreadyExistsError("executor " + std::to_string(spec.executor_id) + " of app " +
                                    spec.app_id + " already exists on this worker");
  }
  entries_[key].spec = spec;
  return absl::OkStatus();
}

void ExecutorTable::EndLaunch(const std::string& app_id, int executor_id) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find({app_id, executor_id});
  if (it != entries_.end() && it->second.pid == 0) entries_.erase(it);
}

void ExecutorTable::SetRunning(const std::string& app_id, int executor_id, pid_t pid,
                               const std::string& dir) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find({app_id, executor_id});
  if (it == entries_.end()) return;
  Entry& entry = it->second;
  entry.pid = pid;
  entry.dir = dir;
  if (entry.kill_requested) {
    entry.kill_requested = false;  // so that KillLocked signals now
    KillLocked(entry);
  }
}

bool ExecutorTable::IsKillRequested(const std::string& app_id, int executor_id) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find({app_id, executor_id});
  return it != entries_.end() && it->second.kill_requested;
}

void ExecutorTable::KillLocked(Entry& entry) {
  if (entry.kill_requested) return;
  entry.kill_requested = true;
  if (entry.pid == 0) return;  // SetRunning signals it
  processes_->Signal(entry.pid, SIGTERM);
  entry.kill_deadline = clock_->Now() + kill_grace_;
}

void ExecutorTable::Kill(const std::string& app_id, int executor_id) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find({app_id, executor_id});
  if (it != entries_.end()) KillLocked(it->second);
}

void ExecutorTable::FinishApp(const std::string& app_id) {
  absl::MutexLock lock(&mu_);
  finished_apps_.insert(app_id);
  for (auto it = entries_.lower_bound({app_id, INT32_MIN});
       it != entries_.end() && it->first.first == app_id; ++it) {
    KillLocked(it->second);
  }
}

void ExecutorTable::KillAll() {
  absl::MutexLock lock(&mu_);
  for (auto& [key, entry] : entries_) KillLocked(entry);
}

std::vector<ExecutorExit> ExecutorTable::Poll() {
  std::vector<ExecutorExit> exits;
  absl::MutexLock lock(&mu_);
  const auto now = clock_->Now();
  for (auto it = entries_.begin(); it != entries_.end();) {
    Entry& entry = it->second;
    if (entry.pid == 0) {
      ++it;
      continue;
    }
    if (std::optional<ExitInfo> info = processes_->TryWait(entry.pid)) {
      exits.push_back({.spec = entry.spec,
                       .exit = *info,
                       .killed = entry.kill_requested && entry.failure.empty(),
                       .dir = entry.dir,
                       .failure = entry.failure,
                       .peak_rss = entry.peak_rss});
      it = entries_.erase(it);
      continue;
    }
    if (entry.kill_requested && !entry.sigkill_sent && now >= entry.kill_deadline) {
      processes_->Signal(entry.pid, SIGKILL);
      entry.sigkill_sent = true;
    }
    ++it;
  }
  return exits;
}

void ExecutorTable::EnforceMemoryLimits() {
  absl::MutexLock lock(&mu_);
  for (auto& [key, entry] : entries_) {
    const int64_t limit = entry.spec.memory_limit_bytes;
    if (entry.pid == 0 || limit <= 0 || !entry.failure.empty()) continue;
    absl::StatusOr<int64_t> rss = processes_->ResidentBytes(entry.pid);
    if (!rss.ok()) continue;  // exited: Poll reaps it
    entry.peak_rss = std::max(entry.peak_rss, *rss);
    if (*rss <= limit) continue;
    entry.failure = StrCat(
        "executor ", entry.spec.executor_id, " exceeded its memory limit of ", FormatBytes(limit),
        " (kiln.executor.memory ", entry.spec.memory_mb, " MiB + kiln.executor.memoryOverhead ",
        (limit >> 20) - entry.spec.memory_mb, " MiB; RSS ", FormatBytes(*rss),
        " when the worker killed it); raise --executor-memory, or use more partitions so "
        "that each task holds less");
    processes_->Signal(entry.pid, SIGKILL);
    entry.kill_requested = true;
    entry.sigkill_sent = true;
  }
}

bool ExecutorTable::HasExecutors(const std::string& app_id) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.lower_bound({app_id, INT32_MIN});
  return it != entries_.end() && it->first.first == app_id;
}

bool ExecutorTable::Empty() const {
  absl::MutexLock lock(&mu_);
  return entries_.empty();
}

std::vector<ExecutorView> ExecutorTable::Snapshot() const {
  std::vector<ExecutorView> out;
  absl::MutexLock lock(&mu_);
  for (const auto& [key, entry] : entries_) {
    out.push_back({entry.spec, entry.pid != 0, entry.pid});
  }
  return out;
}

}  // namespace kiln::worker
