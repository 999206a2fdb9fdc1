#include "worker/executor_table.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include "common/executor_command.h"
#include "common/process_memory.h"
#include "common/strings.h"
#include "common/units.h"
#include "spdlog/spdlog.h"

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

std::string MemoryLimitFailure(const ExecutorSpec& spec, std::string_view how) {
  const int64_t limit = spec.memory_limit_bytes;
  return StrCat("executor ", spec.executor_id, " on host ", spec.host,
                " exceeded its memory limit of ", FormatBytes(limit), " (kiln.executor.memory ",
                FormatMib(spec.memory_mb), " + kiln.executor.memoryOverhead ",
                FormatMib((limit >> 20) - spec.memory_mb), "; ", how,
                "); raise --executor-memory, or use more partitions so that each task holds "
                "less");
}

ExecutorTable::ExecutorTable(ProcessControl* processes, const Clock* clock,
                             std::chrono::milliseconds kill_grace, const MemoryCgroups* cgroups)
    : processes_(processes), clock_(clock), kill_grace_(kill_grace), cgroups_(cgroups) {}

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
                               const std::string& dir, const std::string& cgroup) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find({app_id, executor_id});
  if (it == entries_.end()) return;
  Entry& entry = it->second;
  entry.pid = pid;
  entry.dir = dir;
  entry.cgroup = cgroup;
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

bool ExecutorTable::IsAppFinished(const std::string& app_id) const {
  absl::MutexLock lock(&mu_);
  return finished_apps_.contains(app_id);
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
  std::vector<std::string> cgroups;  // of each exit
  {
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
                         .killed = entry.kill_requested,
                         .app_ended = finished_apps_.contains(entry.spec.app_id),
                         .dir = entry.dir,
                         .failure = entry.failure,
                         .peak_rss = entry.peak_rss});
        cgroups.push_back(entry.cgroup);
        it = entries_.erase(it);
        continue;
      }
      if (entry.kill_requested && !entry.sigkill_sent && now >= entry.kill_deadline) {
        processes_->Signal(entry.pid, SIGKILL);
        entry.sigkill_sent = true;
      }
      ++it;
    }
  }
  for (size_t i = 0; i < exits.size(); ++i) {
    if (!cgroups[i].empty() && cgroups_ != nullptr) ReadAndRemoveCgroup(cgroups[i], exits[i]);
    if (!exits[i].failure.empty()) exits[i].killed = false;
  }
  return exits;
}

void ExecutorTable::ReadAndRemoveCgroup(const std::string& cgroup, ExecutorExit& exit) const {
  const CgroupUsage usage = cgroups_->Usage(cgroup);
  if (usage.oom_kills > 0 && exit.failure.empty()) {
    std::string how = "the kernel killed it at the limit of its memory cgroup";
    if (usage.peak_bytes > 0) StrAppend(&how, ", peak usage ", FormatBytes(usage.peak_bytes));
    if (exit.peak_rss > 0) StrAppend(&how, ", peak RSS seen ", FormatBytes(exit.peak_rss));
    exit.failure = MemoryLimitFailure(exit.spec, how);
  }
  if (absl::Status removed = cgroups_->Remove(cgroup); !removed.ok()) {
    spdlog::warn("app={} executor={}: {}", exit.spec.app_id, exit.spec.executor_id,
                 View(removed.message()));
  }
}

void ExecutorTable::EnforceMemoryLimits() {
  absl::MutexLock lock(&mu_);
  for (auto& [key, entry] : entries_) {
    const int64_t limit = entry.spec.memory_limit_bytes;
    if (entry.pid == 0 || limit <= 0 || !entry.failure.empty()) continue;
    absl::StatusOr<int64_t> rss = processes_->ResidentBytes(entry.pid);
    if (!rss.ok()) continue;  // exited: Poll reaps it
    entry.peak_rss = std::max(entry.peak_rss, *rss);
    if (*rss <= limit || !entry.cgroup.empty()) continue;  // a cgroup: the kernel's call
    entry.failure = MemoryLimitFailure(
        entry.spec, StrCat("RSS ", FormatBytes(*rss), " when the worker killed it"));
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

std::vector<ExecutorView> ExecutorTable::TakeRegistered() {
  std::vector<std::pair<Key, std::string>> waiting;  // key, the marker's path
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [key, entry] : entries_) {
      if (entry.pid != 0 && !entry.registered) {
        waiting.emplace_back(key, StrCat(entry.dir, "/", kRegisteredFile));
      }
    }
  }
  std::vector<Key> arrived;  // the file checks, outside the lock
  for (const auto& [key, marker] : waiting) {
    if (access(marker.c_str(), F_OK) == 0) arrived.push_back(key);
  }
  std::vector<ExecutorView> out;
  absl::MutexLock lock(&mu_);
  for (const Key& key : arrived) {
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.registered) continue;
    it->second.registered = true;
    out.push_back({it->second.spec, true, it->second.pid});
  }
  return out;
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
