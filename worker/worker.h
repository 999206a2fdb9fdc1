#pragma once
// Worker: the composition root of kiln-worker. Wires the gRPC service (control +
// shuffle), the HTTP UI, the binary cache, the executor table, launcher and supervisor,
// the state reporter, the driver runner (cluster deploy mode) and the master link.
//
// Use: Listen() (servers up; ports and id known) -> Register() (with the master; starts
// the loops) -> ... -> Stop(). RequestStop() may be called from any thread at any time
// (a signal handler thread): it makes a Register() in progress give up.
// Thread-safe for those calls; Listen/Register/Stop from one thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/background.h"
#include "common/clients/master_client.h"
#include "common/files.h"
#include "common/http_server.h"
#include "common/rpc.h"
#include "common/rpc_metrics.h"
#include "proto/driver.pb.h"
#include "worker/binary_cache.h"
#include "worker/driver_runner.h"
#include "worker/executor_launcher.h"
#include "worker/executor_supervisor.h"
#include "worker/executor_table.h"
#include "worker/master_link.h"
#include "worker/memory_cgroups.h"
#include "worker/shuffle_block_server.h"
#include "worker/state_reporter.h"
#include "worker/worker_flags.h"
#include "worker/worker_service.h"
#include "worker/worker_ui.h"

namespace kiln::worker {

struct WorkerOptions {
  std::string master_url;      // as given, for messages and the UI
  std::string master_address;  // host:port of the master
  std::string host;            // advertised host
  int port = 7078;             // 0 = ephemeral
  int ui_port = 8081;          // 0 = ephemeral
  int cores = 1;
  int64_t memory_mb = 1024;
  std::string work_dir;                                  // absolute
  std::chrono::milliseconds heartbeat_interval{15'000};  // kiln.worker.heartbeatInterval
  std::chrono::milliseconds connect_timeout{30'000};     // kiln.master.connectTimeout
  int64_t shuffle_chunk_size = 1 << 20;                  // kiln.shuffle.io.chunkSize
  bool shuffle_fail_fetches = false;                     // kiln.test.failShuffleFetches
  int64_t max_message_bytes = 256 << 20;                 // kiln.rpc.message.maxSize
  bool cleanup_enabled = true;                           // kiln.worker.cleanup.enabled
  bool keep_failed_logs = true;                          // kiln.worker.cleanup.keepFailedAppLogs
  int64_t binary_cache_max_bytes = 0;                    // kiln.worker.binaryCache.maxSize
  std::chrono::milliseconds kill_grace{3'000};           // SIGTERM -> SIGKILL
  // Executors' memory cgroups (kiln.worker.memoryLimits); null = the RSS watchdog alone.
  // Owned by the caller; outlives the worker.
  const MemoryCgroups* cgroups = nullptr;
  // With cgroups: processes kept ready in their cgroups to become executors
  // (kiln.worker.standbyExecutors), running `standby_helper` (kiln-exec-standby) while
  // they wait; 0 or no helper = none.
  int standby_executors = 0;
  std::string standby_helper;
  // kiln.authenticate, kiln.ssl.*: of the worker's servers and calls, and handed to its
  // executors through a pipe.
  rpc::Credentials credentials;
};

class Worker {
 public:
  static constexpr std::chrono::milliseconds kReportRetryFor{10'000};
  // Bounds the fetch of a driver's binary from the master (as DriverClientOptions'
  // fetch_timeout does an executor's from its driver).
  static constexpr std::chrono::milliseconds kDriverBinaryFetchTimeout{600'000};

  explicit Worker(WorkerOptions options);
  ~Worker();

  // Makes the work dir and starts the gRPC and HTTP servers. Errors name the dir or
  // host:port.
  absl::Status Listen();
  // Registers with the master (retrying up to connect_timeout) and starts the loops.
  absl::Status Register();
  void RequestStop();
  // Tells the master it leaves (with `reason`, when it had registered), then stops the
  // drivers and the executors (SIGTERM, then SIGKILL after the grace), the loops and the
  // servers. Idempotent.
  void Stop(const std::string& reason = "its process stopped");

  const std::string& id() const { return info_.id; }
  int port() const { return info_.port; }
  int ui_port() const { return info_.ui_port; }

 private:
  class ActiveFetches;
  absl::Status FetchBinary(const BinarySource& source, const std::string& digest,
                           const std::string& dest_path);
  // Sends a state report (of an executor or a driver) through `call`, retrying
  // UNAVAILABLE for kReportRetryFor, but only until a stop is requested (then the master
  // may be gone too: a worker must stop promptly).
  absl::Status SendReport(const std::function<absl::Status()>& call);
  absl::StatusOr<int> StartHttp(const std::string& bind_host);
  std::unique_ptr<MasterLink> MakeMasterLink();

  const WorkerOptions options_;
  const std::shared_ptr<const rpc::Security> security_;  // from options_.credentials
  const std::string token_;  // this worker's (RegisterWorkerRequest.worker_token)
  ScopedFd work_dir_claim_;  // held while the worker runs (ClaimFile)
  WorkerInfo info_;
  RealProcessControl processes_;
  std::unique_ptr<ActiveFetches> fetches_;
  ShuffleBlockServer shuffle_;
  RpcMetrics rpc_metrics_;  // before server_, which records into it
  WorkerService service_;
  rpc::RunningServer server_;
  MasterLinkHealth link_health_;  // before http_, whose /health reads it
  FinishedExecutors finished_;    // before http_, whose pages read it
  HttpServer http_;
  ExecutorTable table_;
  BinaryCache binaries_;
  MasterClient master_;  // single attempts; SendReport retries state reports
  // Executor failures on their way to the drivers (off the supervisor's thread).
  struct DriverNotice {
    std::string driver_address;
    proto::ExecutorFailedRequest request;
  };
  std::unique_ptr<WorkQueue<DriverNotice>> driver_notices_;
  std::unique_ptr<StateReporter> reporter_;
  std::unique_ptr<ExecutorSupervisor> supervisor_;
  std::unique_ptr<ExecutorLauncher> launcher_;
  std::unique_ptr<DriverRunner> drivers_;
  std::unique_ptr<MasterLink> link_;
  WorkerControl control_;
  StopSignal stop_requested_;  // RequestStop(): ends a registration and report retries
  bool stopped_ = false;
  std::atomic<bool> registered_{false};  // Register() succeeded: unregister on Stop()
};

// worker-<yyyyMMddHHmmss>-<host>-<port>, with the local time now.
std::string MakeWorkerId(const std::string& host, int port);

}  // namespace kiln::worker
