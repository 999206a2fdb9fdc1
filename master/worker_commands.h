#pragma once
// WorkerCommands: what the master asks of workers. The Master decides these under its
// lock and performs them outside it. Production: GrpcWorkerCommands; tests: a fake that
// records calls. Implementations must be thread-safe.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace kiln::master {

struct ExecutorLaunch {
  std::string app_id;
  std::string app_name;
  int executor_id = 0;
  int cores = 0;
  int64_t memory_mb = 0;
  int64_t memory_overhead_mb = 0;
  std::string driver_address;
  std::string binary_digest;
  int64_t binary_size = 0;
  std::string executor_token = {};  // rpc::ExecutorToken of the application's token
  std::string app_ui_url = {};      // its driver's UI; "" for none
};

// A driver to start (cluster deploy mode): LaunchDriverRequest.
struct DriverLaunch {
  std::string driver_id;
  int attempt = 0;
  std::string name;
  int cores = 0;
  int64_t memory_mb = 0;
  std::string binary_digest;
  int64_t binary_size = 0;
  std::vector<std::string> args;
  std::string conf;
};

// A worker as the master addresses it: host:port of its gRPC service, and the token it
// registered with, which every command carries.
struct WorkerTarget {
  std::string address;
  std::string token = {};
};

class WorkerCommands {
 public:
  virtual ~WorkerCommands() = default;
  virtual absl::Status LaunchExecutor(const WorkerTarget& worker, const ExecutorLaunch& launch) = 0;
  virtual absl::Status KillExecutor(const WorkerTarget& worker, const std::string& app_id,
                                    int executor_id) = 0;
  // The application ended (`failed`: not FINISHED): the worker stops its executors and
  // deletes its directory (but for the executors' logs of a failed one, by default).
  virtual absl::Status ApplicationFinished(const WorkerTarget& worker, const std::string& app_id,
                                           bool failed) = 0;
  virtual absl::Status LaunchDriver(const WorkerTarget& worker, const DriverLaunch& launch) = 0;
  virtual absl::Status KillDriver(const WorkerTarget& worker, const std::string& driver_id) = 0;
  // OK when the worker at worker.address holds worker.token (it is alive there). Quick:
  // a registration waits for it.
  virtual absl::Status Identify(const WorkerTarget& worker) = 0;
};

}  // namespace kiln::master
