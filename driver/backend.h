#pragma once
// Backend: where an application's executors come from. LocalBackend runs one
// in-process executor (local[N]); ClusterBackend registers the application with a
// master, serves the driver's gRPC service and lets executors connect.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/master_url.h"
#include "common/settings.h"
#include "driver/broadcast_registry.h"
#include "driver/task_scheduler.h"

namespace kiln::internal {

// Why an application holds no executor, as its cluster manager last said.
struct Waiting {
  std::string reason;   // empty: it holds executors, or nobody said why not
  bool queued = false;  // other applications hold the resources: they free up in time
};

class Backend {
 public:
  virtual ~Backend() = default;
  // Starts the backend; executors appear in the task scheduler as they come.
  virtual absl::Status Start() = 0;
  // Ends the application: executors stopped, the master told `final_state`
  // (FINISHED, FAILED, KILLED), temporary files removed. Idempotent.
  virtual void Stop(const std::string& final_state) = 0;
  // The driver was interrupted and exits next: what must not outlive it goes now (the
  // master is told KILLED, executors stopped; local mode's scratch dir), without waiting
  // for running tasks.
  virtual void Interrupt() = 0;
  virtual const std::string& app_id() const = 0;
  // Cores the application is expected to get soon (0 = unknown).
  virtual int ExpectedCores() const = 0;
  // Checks that the application is still alive where it runs, and refreshes
  // ExpectedCores(): in cluster mode, asks the master (an error with its reason when it
  // has ended the application). Thread-safe.
  virtual absl::Status Refresh() = 0;
  // As of the last Refresh(). Thread-safe.
  virtual Waiting WaitingStatus() const { return {}; }
  // Dynamic allocation: the executors the application wants in all, and executors it
  // gives back (already out of scheduling). Local mode has its one executor: no-ops.
  virtual absl::Status RequestTotalExecutors(int total) { return absl::OkStatus(); }
  virtual absl::Status KillExecutors(const std::vector<std::string>& executor_ids) {
    return absl::OkStatus();
  }
};

struct BackendOptions {
  Config conf;
  MasterUrl master;
  std::string app_name;
  TaskScheduler* tasks = nullptr;
  BroadcastRegistry* broadcasts = nullptr;  // the driver's broadcast variables
  // The application UI's URL ("" for none), told to the master at registration.
  std::function<std::string()> ui_url = [] { return std::string(); };
};

std::unique_ptr<Backend> MakeLocalBackend(BackendOptions options);
std::unique_ptr<Backend> MakeClusterBackend(BackendOptions options);

}  // namespace kiln::internal
