#pragma once
// ExecutorTable: the executors a worker is launching or running, and the one place that
// signals and reaps their processes. Reaping and signalling happen under the table's
// lock (both are non-blocking system calls), so a pid is never signalled after it was
// reaped and possibly reused.
//
// Life of an entry: BeginLaunch (LAUNCHING) -> SetRunning (RUNNING, has a pid) -> Poll
// reaps it and removes it. A kill requested while LAUNCHING is remembered: the launcher
// sees IsKillRequested() and gives up, or SetRunning signals the new process at once.
//
// Thread-safe.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/subprocess.h"
#include "worker/memory_cgroups.h"

namespace kiln::worker {

// Process operations, injected so that tests need no processes.
class ProcessControl {
 public:
  virtual ~ProcessControl() = default;
  virtual std::optional<ExitInfo> TryWait(pid_t pid) = 0;  // reaps an exited child
  virtual void Signal(pid_t pid, int signal) = 0;
  virtual absl::StatusOr<int64_t> ResidentBytes(pid_t pid) = 0;  // its RSS
};

// The real thing: waitpid(WNOHANG) and kill().
class RealProcessControl final : public ProcessControl {
 public:
  std::optional<ExitInfo> TryWait(pid_t pid) override;
  void Signal(pid_t pid, int signal) override;
  absl::StatusOr<int64_t> ResidentBytes(pid_t pid) override;
};

struct ExecutorSpec {
  std::string app_id;
  int executor_id = 0;
  int cores = 0;
  int64_t memory_mb = 0;
  int64_t memory_limit_bytes = 0;   // kiln.executor.memory + memoryOverhead; 0 = none
  std::string driver_address;       // its application's driver
  std::string host;                 // the worker's advertised host, for messages
  std::string executor_token = {};  // from the master; shown to the driver
  std::string app_ui_url = {};      // its application's UI; "" for none
};

struct ExecutorView {
  ExecutorSpec spec;
  bool running = false;  // false: still LAUNCHING
  pid_t pid = 0;         // 0 while LAUNCHING
};

// An executor whose process has ended (reaped by Poll).
struct ExecutorExit {
  ExecutorSpec spec;
  ExitInfo exit;
  bool killed = false;     // the worker asked it to stop
  bool app_ended = false;  // ...because its application ended
  std::string dir;         // its directory (stdout, stderr)
  std::string failure;     // why it was killed for the application's fault, if it was
  int64_t peak_rss = 0;    // the largest RSS the memory checks saw
};

// Why an executor was killed for going past its memory limit: "executor 3 on host H
// exceeded its memory limit of 1.4 GiB (...)" with the settings the limit came from,
// `how` it was found, and what to do.
std::string MemoryLimitFailure(const ExecutorSpec& spec, std::string_view how);

class ExecutorTable {
 public:
  // `kill_grace`: how long a process has between SIGTERM and SIGKILL. `cgroups` (may be
  // null): where executors launched with a cgroup have it; Poll reads whether the kernel
  // killed them at their limit and removes the cgroup.
  ExecutorTable(ProcessControl* processes, const Clock* clock, std::chrono::milliseconds kill_grace,
                const MemoryCgroups* cgroups = nullptr);

  // Adds a LAUNCHING entry. FAILED_PRECONDITION when the application has finished;
  // ALREADY_EXISTS when the executor is known.
  absl::Status BeginLaunch(const ExecutorSpec& spec);
  // The launch ended before a process existed: drops the entry.
  void EndLaunch(const std::string& app_id, int executor_id);
  // Records the started process (and the name of its memory cgroup, if it has one); sends
  // it SIGTERM at once if a kill was requested meanwhile (it is then reported KILLED when
  // reaped).
  void SetRunning(const std::string& app_id, int executor_id, pid_t pid, const std::string& dir,
                  const std::string& cgroup = "");
  bool IsKillRequested(const std::string& app_id, int executor_id) const;
  // True once FinishApp(app_id) was called.
  bool IsAppFinished(const std::string& app_id) const;

  // Asks an executor to stop: SIGTERM now, SIGKILL once the grace has passed (in Poll).
  // Unknown executors are ignored.
  void Kill(const std::string& app_id, int executor_id);
  // Marks the application finished (later launches are refused) and kills its executors.
  void FinishApp(const std::string& app_id);
  void KillAll();

  // Reaps exited processes (removing their entries) and sends SIGKILL to those past
  // their grace. Call it regularly.
  std::vector<ExecutorExit> Poll();
  // Samples the RSS of every running executor that has a memory limit and kills (SIGKILL,
  // at once) each one above it, unless the kernel enforces its limit (a cgroup); its
  // exit then carries the reason. Call it regularly.
  void EnforceMemoryLimits();

  // The executors that have reached their driver (their kRegisteredFile exists) since
  // the last call, each returned once. Call it regularly, before Poll.
  std::vector<ExecutorView> TakeRegistered();

  bool HasExecutors(const std::string& app_id) const;
  bool Empty() const;
  std::vector<ExecutorView> Snapshot() const;

 private:
  struct Entry {
    ExecutorSpec spec;
    pid_t pid = 0;
    std::string dir;
    std::string cgroup;
    bool kill_requested = false;
    bool sigkill_sent = false;
    std::chrono::steady_clock::time_point kill_deadline;
    int64_t peak_rss = 0;
    std::string failure;
    bool registered = false;  // returned by TakeRegistered
  };
  using Key = std::pair<std::string, int>;
  void KillLocked(Entry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // After an executor with a cgroup is reaped: whether the kernel killed it at its
  // limit, then the cgroup goes.
  void ReadAndRemoveCgroup(const std::string& cgroup, ExecutorExit& exit) const;

  ProcessControl* const processes_;
  const Clock* const clock_;
  const std::chrono::milliseconds kill_grace_;
  const MemoryCgroups* const cgroups_;
  mutable absl::Mutex mu_;
  std::map<Key, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> finished_apps_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kiln::worker
