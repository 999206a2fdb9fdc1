#include "master/grpc_worker_commands.h"

#include "common/clients/worker_client.h"

namespace kiln::master {

GrpcWorkerCommands::GrpcWorkerCommands(GrpcWorkerCommandsOptions options)
    : options_(options) {}

GrpcWorkerCommands::~GrpcWorkerCommands() = default;

std::shared_ptr<WorkerClient> GrpcWorkerCommands::ClientFor(const std::string& address) {
  absl::MutexLock lock(&mu_);
  std::shared_ptr<WorkerClient>& client = clients_[address];
  if (client == nullptr) {
    WorkerClientOptions o;
    o.address = address;
    o.call_timeout = options_.call_timeout;
    o.retry_for = options_.retry_for;
    o.max_message_bytes = options_.max_message_bytes;
    client = std::make_shared<WorkerClient>(std::move(o));
  }
  return client;
}

absl::Status GrpcWorkerCommands::LaunchExecutor(const std::string& worker_address,
                                                const ExecutorLaunch& launch) {
  proto::LaunchExecutorRequest request;
  request.set_app_id(launch.app_id);
  request.set_app_name(launch.app_name);
  request.set_executor_id(launch.executor_id);
  request.set_cores(launch.cores);
  request.set_memory_mb(launch.memory_mb);
  request.set_driver_address(launch.driver_address);
  request.set_binary_digest(launch.binary_digest);
  request.set_binary_size(launch.binary_size);
  return ClientFor(worker_address)->LaunchExecutor(request);
}

absl::Status GrpcWorkerCommands::KillExecutor(const std::string& worker_address,
                                              const std::string& app_id, int executor_id) {
  return ClientFor(worker_address)->KillExecutor(app_id, executor_id);
}

absl::Status GrpcWorkerCommands::ApplicationFinished(const std::string& worker_address,
                                                     const std::string& app_id) {
  return ClientFor(worker_address)->ApplicationFinished(app_id);
}

}  // namespace kiln::master
