#pragma once
// ExecutorLauncher: starts executors asked for by the master, off the RPC thread. Submit()
// validates the request and records the executor as LAUNCHING; a small pool of launcher
// threads then fetches the application binary (through the BinaryCache), makes
// <work-dir>/<app-id>/executor-<id>/ and spawns the binary in executor mode (execve, no
// shell; stdout/stderr to files in that dir), reporting RUNNING or FAILED to the master.
// With memory cgroups, the binary runs in a standby process that waits in its cgroup
// when one is ready (StandbyExecutors), else in a process forked for it.
//
// The executors die with the worker (PR_SET_PDEATHSIG), which Linux ties to the thread
// that forked them: the launcher threads and the standby pool's live until Stop(), so
// the worker stops its executors before it stops the launcher.
//
// A launch of a finished application, or of a killed executor, is cancelled: dropped if
// still queued, its binary fetch cancelled (unless another launch waits on that binary)
// if under way; it never spawns a process.
//
// Thread-safe. Start()/Stop() once each. Lock order: the launcher's lock, then the
// table's or the queue's; neither is held while it reports, fetches or spawns.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/background.h"
#include "common/rpc_security.h"
#include "common/subprocess.h"
#include "proto/worker.pb.h"
#include "worker/binary_cache.h"
#include "worker/executor_table.h"
#include "worker/memory_cgroups.h"
#include "worker/standby_executors.h"
#include "worker/state_reporter.h"
#include "worker/worker_ui.h"

namespace kiln::worker {

struct ExecutorLauncherOptions {
  std::string work_dir;  // absolute
  std::string worker_id;
  std::string host;  // advertised host of the worker
  int port = 0;      // the worker's gRPC port (its shuffle service)
  int ui_port = 0;   // the worker's pages, where executors' logs are served
  // Launches in parallel (binary fetches of different apps): a driver that stalls its
  // download holds one for DriverClientOptions::stall_timeout at most.
  int threads = 8;
  // Where executors with a memory limit get a cgroup that enforces it; null = none (the
  // table's RSS watchdog enforces it).
  const MemoryCgroups* cgroups = nullptr;
  // The worker's credentials, written to each executor's stdin with its own executor
  // token (never its argv or environment).
  rpc::Credentials executor_credentials;
  // Cancels the binary fetch in flight for `digest`, if any (the fetch then fails with
  // CANCELLED). Optional.
  std::function<void(const std::string& digest)> cancel_fetch;
  // With `cgroups`: processes kept forked and in a cgroup, ready to become executors
  // (StandbyExecutors), running the helper `standby_helper`; 0 or no helper = each
  // executor is forked and joins its cgroup at its launch.
  int standby_executors = 0;
  std::string standby_helper;
};

class ExecutorLauncher {
 public:
  ExecutorLauncher(ExecutorLauncherOptions options, ExecutorTable* table, BinaryCache* binaries,
                   StateReporter* reporter);
  ~ExecutorLauncher();  // Stop()

  void Start();
  // Refuses new launches; launches queued but not started are dropped and reported
  // KILLED. Launches under way go on (cancel their fetches to hurry them).
  void Close();
  // Close() and wait for the launches under way.
  void Stop();

  // Validates `request` (INVALID_ARGUMENT naming the field), refuses executors of
  // finished applications and duplicates, and queues the launch. Returns at once.
  absl::Status Submit(const proto::LaunchExecutorRequest& request);

  // Cancels the launches of `app_id` (which has finished) / of one executor (which was
  // killed): queued ones are dropped and reported KILLED; fetches under way are
  // cancelled unless a launch of another executor waits on the same binary. Call it
  // after marking them in the table (ExecutorTable::FinishApp / Kill), so that a launch
  // whose fetch completes anyway does not spawn.
  void CancelApp(const std::string& app_id);
  // Executors started so far, in standby processes and forked, and standbys ready.
  LaunchCounts Counts() const;
  void CancelExecutor(const std::string& app_id, int executor_id);

 private:
  using Key = std::pair<std::string, int>;  // app id, executor id
  // Cancels the launches whose key matches `match`.
  void CancelLaunches(const std::function<bool(const Key&)>& match, const std::string& why);
  // Drops launches that never started: reported EXITED if their application has ended
  // (its normal end, as for a running executor), else KILLED, with `why`.
  void Drop(const std::vector<proto::LaunchExecutorRequest>& dropped, const std::string& why);
  proto::ExecutorState EndedBeforeStart(const std::string& app_id) const;
  // Runs one launch on a queue thread, registered in `launching_` meanwhile.
  void Run(const proto::LaunchExecutorRequest& request);
  void Launch(const proto::LaunchExecutorRequest& request);
  struct Spawned {
    pid_t pid = 0;
    std::string cgroup;  // its memory cgroup's name; empty = none
  };
  absl::StatusOr<Spawned> FetchAndSpawn(const proto::LaunchExecutorRequest& request,
                                        const std::string& dir);
  // Starts `spawn` in a standby process, limited to `limit_bytes`; nullopt when none is
  // ready or it could not be started (then Spawn forks one).
  std::optional<Spawned> StartStandby(const proto::LaunchExecutorRequest& request,
                                      const SpawnOptions& spawn, int64_t limit_bytes);

  const ExecutorLauncherOptions options_;
  ExecutorTable* const table_;
  BinaryCache* const binaries_;
  StateReporter* const reporter_;
  absl::Mutex mu_;
  // The launches queued or under way, with their binary digests: a binary fetch is
  // cancelled only when none of them wants that binary.
  std::map<Key, std::string> launching_ ABSL_GUARDED_BY(mu_);
  const std::unique_ptr<StandbyExecutors> standbys_;  // null = none
  std::atomic<int64_t> from_standby_{0};
  std::atomic<int64_t> forked_{0};
  WorkQueue<proto::LaunchExecutorRequest> queue_;  // last: stopped first
};

// Checks the fields of a launch request; the error names the field and value.
absl::Status ValidateLaunchRequest(const proto::LaunchExecutorRequest& request);

}  // namespace kiln::worker
