#include "master/grpc_worker_commands.h"

#include "common/clients/worker_client.h"

namespace kiln::master {

GrpcWorkerCommands::GrpcWorkerCommands(GrpcWorkerCommandsOptions options)
    : clients_([options](const std::string& address) {
        return std::make_shared<WorkerClient>(
            WorkerClientOptions{.address = address,
                                .call_timeout = options.call_timeout,
                                .retry_for = options.retry_for,
                                .max_message_bytes = options.max_message_bytes,
                                .security = options.security});
      }) {}

GrpcWorkerCommands::~GrpcWorkerCommands() = default;

absl::Status GrpcWorkerCommands::LaunchExecutor(const WorkerTarget& worker,
                                                const ExecutorLaunch& launch) {
  proto::LaunchExecutorRequest request;
  request.set_app_id(launch.app_id);
  request.set_app_name(launch.app_name);
  request.set_executor_id(launch.executor_id);
  request.set_cores(launch.cores);
  request.set_memory_mb(launch.memory_mb);
  request.set_memory_overhead_mb(launch.memory_overhead_mb);
  request.set_driver_address(launch.driver_address);
  request.set_binary_digest(launch.binary_digest);
  request.set_binary_size(launch.binary_size);
  request.set_executor_token(launch.executor_token);
  request.set_app_ui_url(launch.app_ui_url);
  request.set_worker_token(worker.token);
  return clients_.Get(worker.address)->LaunchExecutor(request);
}

absl::Status GrpcWorkerCommands::KillExecutor(const WorkerTarget& worker, const std::string& app_id,
                                              int executor_id) {
  return clients_.Get(worker.address)->KillExecutor(app_id, executor_id, worker.token);
}

absl::Status GrpcWorkerCommands::ApplicationFinished(const WorkerTarget& worker,
                                                     const std::string& app_id, bool failed) {
  return clients_.Get(worker.address)->ApplicationFinished(app_id, failed, worker.token);
}

absl::Status GrpcWorkerCommands::LaunchDriver(const WorkerTarget& worker,
                                              const DriverLaunch& launch) {
  proto::LaunchDriverRequest request;
  request.set_driver_id(launch.driver_id);
  request.set_attempt(launch.attempt);
  request.set_name(launch.name);
  request.set_cores(launch.cores);
  request.set_memory_mb(launch.memory_mb);
  request.set_binary_digest(launch.binary_digest);
  request.set_binary_size(launch.binary_size);
  for (const std::string& arg : launch.args) request.add_args(arg);
  request.set_conf(launch.conf);
  request.set_worker_token(worker.token);
  return clients_.Get(worker.address)->LaunchDriver(request);
}

absl::Status GrpcWorkerCommands::KillDriver(const WorkerTarget& worker,
                                            const std::string& driver_id) {
  return clients_.Get(worker.address)->KillDriver(driver_id, worker.token);
}

absl::Status GrpcWorkerCommands::Identify(const WorkerTarget& worker) {
  return clients_.Get(worker.address)->Identify(worker.token, std::chrono::seconds(2));
}

}  // namespace kiln::master
