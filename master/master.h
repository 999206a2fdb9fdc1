#pragma once
// Master: the cluster's bookkeeping and scheduling — workers, applications, executor
// grants — composed from WorkerRegistry, ApplicationRegistry and PlaceExecutors.
//
// Thread-safe: all state sits under one mutex. Each operation decides under the lock what
// workers must be told (launch, kill, application finished) and performs those
// WorkerCommands after releasing it, through `MasterOptions::dispatch`. Scheduling runs
// after every change (a worker registers or dies, an application registers or ends, an
// executor ends), for active applications in registration order.
//
// Lifetime: commands handed to `dispatch` call back into the Master (a failed launch
// counts as a failed executor), so the dispatcher must be stopped before the Master dies.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "master/allocator.h"
#include "master/application_registry.h"
#include "master/cluster_view.h"
#include "master/driver_registry.h"
#include "master/liveness_sweeper.h"
#include "master/recovery_store.h"
#include "master/worker_commands.h"
#include "master/worker_registry.h"

namespace kiln::master {

struct MasterOptions {
  std::string master_id;          // returned to registering workers
  bool spread_out = true;         // kiln.deploy.spreadOut
  int max_executor_retries = 10;  // kiln.deploy.maxExecutorRetries; 0 = no limit
  // kiln.deploy.defaultCores: the cap on cores of applications that set no
  // kiln.cores.max; 0 = none.
  int default_cores = 0;
  // kiln.history.url: where kiln-history serves completed applications; "" = nowhere.
  std::string history_url;
  // kiln.deploy.recoveryMode=FILESYSTEM: where the state goes after every change; null
  // = nowhere. Not owned.
  RecoveryStore* store = nullptr;
  // A worker restored from the store and not registered again within this is DEAD.
  std::chrono::milliseconds recovery_timeout{60000};
  const Clock* clock = RealClock::Get();  // heartbeats and timeouts; not owned
  // Wall time for application ids and the UI's timestamps; empty = the system clock.
  std::function<std::chrono::system_clock::time_point()> wall_clock;
  WorkerCommands* commands = nullptr;  // required; not owned
  // Called under the Master's lock (it must not call back) when no active driver runs
  // from the binary with this digest any more: the uploaded binary may go. Optional.
  std::function<void(const std::string& digest)> binary_unused;
  // Runs a closure that performs decided commands to the worker at address `key`;
  // empty = run it on the calling thread right away. Production posts it to a
  // KeyedSerialQueue, so that an RPC caller does not wait for worker RPCs and a worker
  // that does not answer holds back no command to the others.
  std::function<void(const std::string& key, std::function<void()>)> dispatch;
};

// An executor a (re-)registering worker is still running.
struct ReportedExecutor {
  std::string app_id;
  int executor_id = 0;
  int cores = 0;
  int64_t memory_mb = 0;
};

// A driver a (re-)registering worker is still running (cluster deploy mode).
struct ReportedDriver {
  std::string driver_id;
  int cores = 0;
  int64_t memory_mb = 0;
};

struct WorkerRegistration {
  std::string id;
  std::string host;
  int port = 0;
  int ui_port = 0;
  int cores = 0;
  int64_t memory_mb = 0;
  std::vector<ReportedExecutor> executors;
  std::vector<std::string> app_dirs;  // applications with a directory on the worker
  std::vector<ReportedDriver> drivers;
  std::string token = {};  // the worker's own (see proto/master.proto)
};

enum class ExecutorEvent { kLaunching, kRunning, kExited, kFailed, kKilled };

struct ExecutorStateReport {
  std::string worker_id;
  std::string app_id;
  int executor_id = 0;
  ExecutorEvent state = ExecutorEvent::kRunning;
  std::string message;
  int exit_code = 0;
};

// A worker's report on a driver it runs (DriverStateChangedRequest).
struct DriverStateReport {
  std::string worker_id;
  std::string driver_id;
  int attempt = 0;
  DriverState state = DriverState::kRunning;  // RUNNING, FINISHED, FAILED, KILLED, ERROR
  std::string message;
  int exit_code = 0;
};

// What the master tells a live application's driver (ApplicationHeartbeatReply).
struct ApplicationStatus {
  int granted_cores = 0;  // executor cores granted to it now
  // Set while it holds no executor: why none can be placed ("needs 4.0 GiB per executor
  // ...; the most free on a worker is 2.0 GiB").
  std::string waiting_reason = {};
  // Set with waiting_reason when other applications hold executors: it waits in the
  // queue for their resources, which free up when they end or shrink.
  bool queued = false;
};

struct RegisteredApplication {
  std::string id;
  std::string token = {};  // random; the driver's later calls must carry it
  int granted_cores = 0;   // cores granted at registration; more may follow as workers join
};

class Master final : public LivenessTarget {
 public:
  explicit Master(MasterOptions options);

  const std::string& id() const { return options_.master_id; }

  // Adds the worker as ALIVE, replacing an entry with the same id (the worker restarted
  // or this master forgot it) and any ALIVE worker at the same host:port. Executors it
  // reports are kept if this master granted them there, otherwise stopped.
  absl::Status RegisterWorker(const WorkerRegistration& registration);
  // Who may make a call, checked by the RPC layer before the calls below: a worker's
  // reports, heartbeats and unregistration must carry the token it registered with, a
  // driver's calls its application's. OK for an id this master does not know (the call
  // then changes nothing); PERMISSION_DENIED naming the id otherwise.
  absl::Status CheckWorkerCaller(const std::string& worker_id, const std::string& token) const;
  absl::Status CheckApplicationCaller(const std::string& app_id, const std::string& token) const;

  // Returns true when the worker must register again (unknown or DEAD).
  bool WorkerHeartbeat(const std::string& worker_id);
  // The worker shuts down: DEAD at once, its executors lost, its grants free.
  void UnregisterWorker(const std::string& worker_id, const std::string& reason);
  // An executor ended (frees its grant; FAILED counts toward max_executor_retries) or
  // started. Reports of unknown or ended applications are ignored.
  absl::Status ExecutorStateChanged(const ExecutorStateReport& report);

  // Validates the request (InvalidArgument naming the field), registers the application
  // and places what executors fit now.
  absl::StatusOr<RegisteredApplication> RegisterApplication(const ApplicationRequest& request);
  // The driver of an application this master does not know, or knows from its workers
  // only (it restarted while the application ran), registers it again under its id and
  // token: it is active again, with the executors its workers report. A retry of a
  // reclaim that got through returns the same; another token is PERMISSION_DENIED, an
  // ended application FAILED_PRECONDITION.
  absl::StatusOr<RegisteredApplication> ReclaimApplication(const ApplicationRequest& request,
                                                           const std::string& app_id,
                                                           const std::string& token);
  // False when the application is not active (unknown or ended). `status` (may be null)
  // gets what it holds now and, while it holds nothing, why.
  bool ApplicationHeartbeat(const std::string& app_id, ApplicationStatus* status = nullptr);
  // Why the master ended the application, or empty (still active, or never known).
  std::string EndReason(const std::string& app_id) const;
  // Ends the application with `final_state` (FINISHED, FAILED or KILLED; empty means
  // FINISHED). Ending an application that already ended is OK; an unknown id is NotFound.
  absl::Status UnregisterApplication(const std::string& app_id, const std::string& final_state);
  // Dynamic allocation. The application holds at most `total` executors from now on
  // (more are placed if they fit; none is stopped). NotFound for an application that is
  // not active, InvalidArgument for a negative total.
  absl::Status RequestExecutors(const std::string& app_id, int total);
  // Stops these executors of the application and frees their grants at once; ids it
  // does not hold are skipped. Its executor limit is not changed.
  absl::Status KillExecutors(const std::string& app_id, const std::vector<int>& executor_ids);

  // Cluster deploy mode (master_drivers.cc). Validates the request (InvalidArgument
  // naming the field), refuses one no ALIVE worker could ever hold (FailedPrecondition),
  // queues the driver and places it if a worker has room; returns its id. A retry of a
  // submission that got through (same request_id) returns the same id.
  absl::StatusOr<std::string> SubmitDriver(const DriverRequest& request);
  // NotFound for an id this master does not remember.
  absl::StatusOr<DriverView> DriverStatus(const std::string& driver_id) const;
  // Kills an active driver (KILLED at once: it is never relaunched; its worker stops its
  // process) and returns KILLED. FailedPrecondition naming the final state of one that
  // had ended; NotFound for an unknown id.
  absl::StatusOr<DriverState> KillDriver(const std::string& driver_id);
  // A worker's report on a driver; reports of another worker or of an earlier attempt
  // are ignored. A supervised driver that failed is relaunched after a backoff.
  absl::Status DriverStateChanged(const DriverStateReport& report);
  // True when the master placed a driver running from `digest` on `worker_id`: only
  // then may that worker fetch the binary.
  bool MayFetchDriverBinary(const std::string& worker_id, const std::string& digest) const;

  // From the second relaunch of a supervised driver on, each waits twice as long as the
  // one before, from kRelaunchBackoff up to kMaxRelaunchBackoff.
  static constexpr std::chrono::milliseconds kRelaunchBackoff{1000};
  static constexpr std::chrono::milliseconds kMaxRelaunchBackoff{60000};

  // LivenessTarget.
  void ExpireWorkers(std::chrono::steady_clock::time_point cutoff) override;
  void ExpireApplications(std::chrono::steady_clock::time_point cutoff) override;
  void ResumeLaunches(std::chrono::steady_clock::time_point now) override;

  // From this many executor failures in a row on (reachable when
  // kiln.deploy.maxExecutorRetries is 0 or above it), an application's next launch
  // waits 1 s, doubling with each further failure up to 60 s.
  static constexpr int kLaunchBackoffAfter = 10;

  // Bounds on what a registration may claim, so that one request cannot make the master
  // place a million executors or keep a 200 MB id: a worker offers 1..kMaxWorkerCores
  // cores and at most kMaxWorkerMemoryMb (64 TiB); ids, hosts, addresses and digests are
  // at most kMaxIdBytes, application names kMaxNameBytes.
  static constexpr int kMaxWorkerCores = 4096;
  static constexpr int64_t kMaxWorkerMemoryMb = int64_t{64} << 20;
  static constexpr size_t kMaxIdBytes = 512;
  static constexpr size_t kMaxNameBytes = 1024;
  // Executors one application may hold at once: a bound on what one registration can
  // make the master start (and keep in memory), far above any real job's need.
  static constexpr int kMaxExecutorsPerApplication = 10'000;
  // A supervised driver's relaunches at most (kiln.driver.supervise.maxRelaunches), and
  // the bytes of its arguments and settings.
  static constexpr int kMaxDriverRelaunches = 1000;
  static constexpr size_t kMaxDriverCommandBytes = 1 << 20;

  ClusterView Snapshot() const;

  // Before serving: takes in the state a RecoveryStore kept. Workers are UNKNOWN (not
  // placed on) until they register again, and DEAD after recovery_timeout; applications
  // are active with their ids and tokens, and take in the executors their workers report.
  void Restore(const PersistedState& state);

 private:
  struct Command {
    enum class Kind { kLaunch, kKill, kApplicationFinished, kLaunchDriver, kKillDriver };
    Kind kind = Kind::kLaunch;
    std::string worker_id;
    std::string worker_address;
    std::string worker_token;
    std::string app_id;
    int executor_id = 0;
    ExecutorLaunch launch;    // kLaunch only
    bool app_failed = false;  // kApplicationFinished: it did not end FINISHED
    DriverLaunch driver;      // kLaunchDriver; kKillDriver: driver.driver_id
  };
  using Commands = std::vector<Command>;
  static Command MakeCommand(Command::Kind kind, const WorkerInfo& worker,
                             const std::string& app_id, int executor_id = 0);
  // kApplicationFinished; `failed`: it did not end FINISHED.
  static Command FinishedCommand(const WorkerInfo& worker, const std::string& app_id, bool failed);

  // FAILED_PRECONDITION when no ALIVE worker could ever hold one of the request's
  // executors (more memory or cores per executor than any offers), naming both, or when
  // its cap (kiln.cores.max, else kiln.deploy.defaultCores) is below the cores of one
  // executor; OK when no worker is ALIVE yet (the application waits for them).
  absl::Status CheckSatisfiableLocked(const ApplicationRequest& request) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void ScheduleLocked(Commands* out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Places SUBMITTED drivers, and RELAUNCHING ones whose backoff is over, on workers
  // with room; drivers go before executors, as in Spark.
  void ScheduleDriversLocked(Commands* out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A run of the driver ended (it failed, or its worker was lost): a supervised driver
  // with relaunches left is RELAUNCHING, any other ends with `final_state`.
  void DriverRunEndedLocked(DriverInfo& driver, DriverState final_state, const std::string& why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Frees a RUNNING driver's grant on its worker.
  void ReleaseDriverLocked(const DriverInfo& driver) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EndDriverLocked(DriverInfo& driver, DriverState state, const std::string& why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The drivers a (re-)registering worker reports: kept, taken in, or stopped; the ones
  // the master placed there that it no longer runs are lost.
  void ReconcileDriversLocked(const WorkerRegistration& registration, Commands* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The worker is lost: its drivers' runs end.
  void DriversLostLocked(const std::string& worker_id, const std::string& why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  DriverView DriverViewLocked(const DriverInfo& driver) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // What `app` still wants (kiln.cores.max, else kiln.deploy.defaultCores, minus what it
  // holds) and what each ALIVE worker has free for it.
  ExecutorDemand DemandOfLocked(const Application& app) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  std::vector<WorkerCapacity> CapacityForLocked(const Application& app) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // ApplicationStatus of an active application.
  ApplicationStatus StatusOfLocked(const Application& app) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Saves the workers and applications to options_.store, if any (a failure is logged).
  void PersistLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ScheduleApplicationLocked(Application& app, Commands* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReconcileExecutorsLocked(const WorkerRegistration& registration, Commands* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Its executors are lost; an application past its retries that loses its last
  // running executor ends.
  void MarkWorkerDeadLocked(const std::string& worker_id, const std::string& reason, Commands* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Frees the grant of one of the application's executors and forgets it.
  void FreeExecutorLocked(Application& app, int executor_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Frees an ended executor's grant; a failure may end its application.
  void ExecutorEndedLocked(Application& app, int executor_id, bool failed, Commands* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // kiln.deploy.maxExecutorRetries: past it, an application with no running executor
  // ends; one with running executors gets no more launches.
  void EndIfRetriesSpentLocked(Application& app, Commands* out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sets the application's launch backoff once its failures reach kLaunchBackoffAfter.
  void BackOffLaunchesLocked(Application& app) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EndApplicationLocked(Application& app, AppState state, const std::string& reason,
                            Commands* out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Outside the lock.
  void Dispatch(Commands commands) ABSL_LOCKS_EXCLUDED(mu_);
  void Perform(const Commands& commands) ABSL_LOCKS_EXCLUDED(mu_);
  void LaunchFailed(const Command& command, const std::string& why) ABSL_LOCKS_EXCLUDED(mu_);
  void DriverLaunchFailed(const Command& command, const std::string& why) ABSL_LOCKS_EXCLUDED(mu_);

  std::chrono::system_clock::time_point WallNow() const;

  const MasterOptions options_;
  mutable absl::Mutex mu_;
  WorkerRegistry workers_ ABSL_GUARDED_BY(mu_);
  ApplicationRegistry apps_ ABSL_GUARDED_BY(mu_);
  DriverRegistry drivers_ ABSL_GUARDED_BY(mu_);
  MasterCounters counters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kiln::master
