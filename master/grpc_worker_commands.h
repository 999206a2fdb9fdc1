#pragma once
// GrpcWorkerCommands: WorkerCommands over gRPC, one cached kiln::WorkerClient per worker
// address. Thread-safe.

#include <chrono>
#include <memory>
#include <string>

#include "common/clients/client_cache.h"
#include "common/rpc_security.h"
#include "master/worker_commands.h"

namespace kiln {
class WorkerClient;
}

namespace kiln::master {

struct GrpcWorkerCommandsOptions {
  std::chrono::milliseconds call_timeout{10000};  // one attempt
  // Total time spent retrying UNAVAILABLE: short, since a worker that cannot be reached
  // delays the commands queued behind it, and liveness will catch a dead one.
  std::chrono::milliseconds retry_for{3000};
  int64_t max_message_bytes = 256 << 20;
  std::shared_ptr<const rpc::Security> security = nullptr;  // null = none
};

class GrpcWorkerCommands final : public WorkerCommands {
 public:
  explicit GrpcWorkerCommands(GrpcWorkerCommandsOptions options = {});
  ~GrpcWorkerCommands() override;

  absl::Status LaunchExecutor(const WorkerTarget& worker, const ExecutorLaunch& launch) override;
  absl::Status KillExecutor(const WorkerTarget& worker, const std::string& app_id,
                            int executor_id) override;
  absl::Status ApplicationFinished(const WorkerTarget& worker, const std::string& app_id,
                                   bool failed) override;
  absl::Status LaunchDriver(const WorkerTarget& worker, const DriverLaunch& launch) override;
  absl::Status KillDriver(const WorkerTarget& worker, const std::string& driver_id) override;
  absl::Status Identify(const WorkerTarget& worker) override;

 private:
  ClientCache<WorkerClient> clients_;
};

}  // namespace kiln::master
