#pragma once
// DriverRunner: the drivers a worker runs in cluster deploy mode (kiln-submit
// --deploy-mode cluster), Spark's DriverRunner. Launch() validates the master's request
// and queues it; a launch thread gets the application's binary from the master (through
// the BinaryCache), makes <work-dir>/<driver-id>/ and spawns the binary there (execve,
// no shell; stdout and stderr to files in that dir; settings and credentials as
// common/driver_command.h says). A loop reaps the drivers that exit.
//
// Each change goes to the master as a DriverStateChangedRequest, in order, from a thread
// of the runner's own: RUNNING once spawned, then FINISHED (exit status 0), KILLED
// (stopped on request, or killed before it started), FAILED (any other end, with the
// last line of its stderr) or ERROR (it never ran: binary, directory, spawn).
//
// Attempts: a relaunch (attempt N > 0) on the same worker first renames the previous
// run's stdout/stderr to stdout.<N-1>/stderr.<N-1>. Driver directories are kept (they
// hold the logs), as Spark keeps work/driver-*.
//
// Drivers die with the worker (PR_SET_PDEATHSIG, which Linux ties to the launch thread
// that forked them: those threads live until Stop() has ended the drivers), so that the
// master may relaunch a driver of a lost worker elsewhere without two copies running.
//
// Thread-safe. Start()/Stop() once each. Lock order: the runner's lock, then its queues';
// none is held while it fetches, spawns, reads a file or reports.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/background.h"
#include "common/clock.h"
#include "common/rpc_security.h"
#include "common/subprocess.h"
#include "proto/master.pb.h"
#include "proto/worker.pb.h"
#include "worker/binary_cache.h"
#include "worker/driver_launch.h"
#include "worker/executor_table.h"

namespace kiln::worker {

struct DriverRunnerOptions {
  std::string work_dir;  // absolute
  std::string worker_id;
  std::string worker_token;  // carried by every report (the master checks it)
  // The worker's advertised host: kiln.driver.host of a driver whose settings lack it,
  // so that it advertises an address its executors reach.
  std::string host;
  std::chrono::milliseconds kill_grace{3'000};  // SIGTERM -> SIGKILL
  std::chrono::milliseconds tick{100};          // how often exited drivers are reaped
  int threads = 4;                              // launches (binary fetches) in parallel
  // The worker's credentials, written to each driver's stdin (never its argv or
  // environment).
  rpc::Credentials credentials;
  // Delivers one report to the master, retrying as it sees fit; called on the runner's
  // report thread, one report at a time, in order. Required.
  std::function<absl::Status(const proto::DriverStateChangedRequest&)> send;
  // How long Stop() lets the reports still queued go out.
  std::chrono::milliseconds drain_timeout{3'000};
  const Clock* clock = RealClock::Get();  // for the kill grace; not owned
};

// A driver as the worker's UI shows it.
struct DriverView {
  std::string driver_id;
  int attempt = 0;
  std::string name;
  int cores = 0;
  int64_t memory_mb = 0;
  std::string state;          // LAUNCHING, RUNNING; then FINISHED, FAILED, KILLED or ERROR
  pid_t pid = 0;              // 0 until it runs
  int64_t start_unix_ms = 0;  // when its process started; 0 if it never did
  int exit_code = 0;          // once ended; -N for signal N
  std::string message;        // once ended: why
};

struct DriverSnapshot {
  std::vector<DriverView> active;    // launching or running, by id
  std::vector<DriverView> finished;  // the last kRetainedFinished, oldest first
};

class DriverRunner {
 public:
  // As Spark's spark.worker.ui.retainedDrivers.
  static constexpr size_t kRetainedFinished = 1000;

  // `binaries` and `processes` are not owned and outlive the runner.
  DriverRunner(DriverRunnerOptions options, BinaryCache* binaries, ProcessControl* processes);
  ~DriverRunner();  // Stop()

  void Start();
  // Ends every driver (SIGTERM, then SIGKILL after the kill grace) and drops the launches
  // not yet spawned, reporting none of them: the worker leaves, and the master decides
  // what becomes of the drivers of a lost worker. Then lets the queued reports go out
  // for up to drain_timeout. Idempotent.
  void Stop();

  // Validates `request` (INVALID_ARGUMENT naming the field), refuses a driver id that is
  // launching or running here (ALREADY_EXISTS) and queues the launch. Returns at once.
  absl::Status Launch(const proto::LaunchDriverRequest& request);
  // Stops a driver: a launch not yet spawned is dropped and reported KILLED at once; a
  // running driver gets SIGTERM now and SIGKILL after the grace, and is reported KILLED
  // when reaped. Unknown ids are ignored (the master may retry a kill).
  void Kill(const std::string& driver_id);

  // The drivers launching or running, for a (re-)registration with the master.
  std::vector<proto::RunningDriver> Running() const;
  DriverSnapshot Snapshot() const;

 private:
  enum class Phase { kQueued, kFetching, kSpawning, kRunning };
  struct Entry {
    proto::LaunchDriverRequest request;  // its conf as the driver gets it
    Phase phase = Phase::kQueued;
    pid_t pid = 0;
    int64_t start_unix_ms = 0;
    bool kill_requested = false;
    bool ended_reported = false;  // KILLED went out before it could start
    bool sigterm_sent = false;
    bool sigkill_sent = false;
    std::chrono::steady_clock::time_point kill_deadline;
  };
  struct Reaped {
    proto::LaunchDriverRequest request;
    ExitInfo exit;
    bool killed = false;
    int64_t start_unix_ms = 0;
    bool report = true;  // false once the worker stops
  };

  // On a launch thread.
  void Run(const proto::LaunchDriverRequest& request);
  // Fetches the binary, prepares the driver's dir and spawns it (unless it was killed
  // meanwhile: CANCELLED). Errors name the cause.
  absl::StatusOr<pid_t> FetchAndSpawn(const proto::LaunchDriverRequest& request);
  // One tick of the loop: reaps exited drivers (reported unless stopping) and sends
  // SIGKILL to those past their grace.
  void Tick();
  // Reports (unless the worker stops) and logs the ends of reaped drivers.
  void ReportEnds(const std::vector<Reaped>& reaped);
  // Whether a process of a driver may still run (spawning or running).
  bool HasProcesses() const;
  void KillLocked(Entry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues a report (and keeps a final one for the UI).
  void ReportLocked(const proto::LaunchDriverRequest& request, proto::DriverState state,
                    const std::string& message, int exit_code = 0, int64_t start_unix_ms = 0)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Send(const proto::DriverStateChangedRequest& report);

  const DriverRunnerOptions options_;
  BinaryCache* const binaries_;
  ProcessControl* const processes_;
  mutable absl::Mutex mu_;
  std::map<std::string, Entry> drivers_ ABSL_GUARDED_BY(mu_);  // by driver id
  std::deque<DriverView> finished_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  WorkQueue<proto::DriverStateChangedRequest> reports_;
  WorkQueue<proto::LaunchDriverRequest> launches_;
  PeriodicThread loop_;  // last: stopped first
};

}  // namespace kiln::worker
