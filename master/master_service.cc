#include "master/master_service.h"

#include "common/rpc.h"
#include "common/strings.h"

namespace kiln::master {

namespace {

absl::StatusOr<ExecutorEvent> ToEvent(proto::ExecutorState state) {
  switch (state) {
    case proto::EXECUTOR_LAUNCHING:
      return ExecutorEvent::kLaunching;
    case proto::EXECUTOR_RUNNING:
      return ExecutorEvent::kRunning;
    case proto::EXECUTOR_EXITED:
      return ExecutorEvent::kExited;
    case proto::EXECUTOR_FAILED:
      return ExecutorEvent::kFailed;
    case proto::EXECUTOR_KILLED:
      return ExecutorEvent::kKilled;
    default:
      return absl::InvalidArgumentError(
          StrCat("ExecutorStateChanged: state ", static_cast<int>(state), " is not valid"));
  }
}

}  // namespace

grpc::Status MasterService::RegisterWorker(grpc::ServerContext*,
                                           const proto::RegisterWorkerRequest* req,
                                           proto::RegisterWorkerReply* reply) {
  WorkerRegistration r;
  r.id = req->worker_id();
  r.host = req->host();
  r.port = req->port();
  r.ui_port = req->ui_port();
  r.cores = req->cores();
  r.memory_mb = req->memory_mb();
  for (const proto::RunningExecutor& e : req->executors()) {
    r.executors.push_back({.app_id = e.app_id(),
                           .executor_id = e.executor_id(),
                           .cores = e.cores(),
                           .memory_mb = e.memory_mb()});
  }
  r.app_dirs.assign(req->app_dirs().begin(), req->app_dirs().end());
  r.token = req->worker_token();
  absl::Status status = master_->RegisterWorker(r);
  if (status.ok()) reply->set_master_id(master_->id());
  return rpc::ToGrpc(status);
}

grpc::Status MasterService::WorkerHeartbeat(grpc::ServerContext*,
                                            const proto::WorkerHeartbeatRequest* req,
                                            proto::WorkerHeartbeatReply* reply) {
  if (absl::Status caller = master_->CheckWorkerCaller(req->worker_id(), req->worker_token());
      !caller.ok()) {
    return rpc::ToGrpc(caller);
  }
  reply->set_reregister(master_->WorkerHeartbeat(req->worker_id()));
  return grpc::Status::OK;
}

grpc::Status MasterService::UnregisterWorker(grpc::ServerContext*,
                                             const proto::UnregisterWorkerRequest* req,
                                             proto::UnregisterWorkerReply*) {
  if (absl::Status caller = master_->CheckWorkerCaller(req->worker_id(), req->worker_token());
      !caller.ok()) {
    return rpc::ToGrpc(caller);
  }
  master_->UnregisterWorker(req->worker_id(), req->reason());
  return grpc::Status::OK;
}

grpc::Status MasterService::ExecutorStateChanged(grpc::ServerContext*,
                                                 const proto::ExecutorStateChangedRequest* req,
                                                 proto::ExecutorStateChangedReply*) {
  if (absl::Status caller = master_->CheckWorkerCaller(req->worker_id(), req->worker_token());
      !caller.ok()) {
    return rpc::ToGrpc(caller);
  }
  absl::StatusOr<ExecutorEvent> event = ToEvent(req->state());
  if (!event.ok()) return rpc::ToGrpc(event.status());
  return rpc::ToGrpc(master_->ExecutorStateChanged({.worker_id = req->worker_id(),
                                                    .app_id = req->app_id(),
                                                    .executor_id = req->executor_id(),
                                                    .state = *event,
                                                    .message = req->message(),
                                                    .exit_code = req->exit_code()}));
}

grpc::Status MasterService::RegisterApplication(grpc::ServerContext*,
                                                const proto::RegisterApplicationRequest* req,
                                                proto::RegisterApplicationReply* reply) {
  ApplicationRequest r{.name = req->name(),
                       .cores_per_executor = req->cores_per_executor(),
                       .memory_per_executor_mb = req->memory_per_executor_mb(),
                       .memory_overhead_mb = req->memory_overhead_mb(),
                       .max_cores = req->max_cores(),
                       .binary_digest = req->binary_digest(),
                       .binary_size = req->binary_size(),
                       .driver_address = req->driver_address(),
                       .user = req->user(),
                       .request_id = req->request_id(),
                       .executor_limit = req->dynamic_allocation() ? req->initial_executors() : -1,
                       .driver_id = req->driver_id(),
                       .ui_url = req->ui_url()};
  absl::StatusOr<RegisteredApplication> app =
      req->reclaim_app_id().empty()
          ? master_->RegisterApplication(r)
          : master_->ReclaimApplication(r, req->reclaim_app_id(), req->reclaim_app_token());
  if (!app.ok()) return rpc::ToGrpc(app.status());
  reply->set_app_id(app->id);
  reply->set_app_token(app->token);
  reply->set_granted_cores(app->granted_cores);
  return grpc::Status::OK;
}

grpc::Status MasterService::ApplicationHeartbeat(grpc::ServerContext*,
                                                 const proto::ApplicationHeartbeatRequest* req,
                                                 proto::ApplicationHeartbeatReply* reply) {
  if (absl::Status caller = master_->CheckApplicationCaller(req->app_id(), req->app_token());
      !caller.ok()) {
    return rpc::ToGrpc(caller);
  }
  ApplicationStatus status;
  reply->set_known(master_->ApplicationHeartbeat(req->app_id(), &status));
  reply->set_granted_cores(status.granted_cores);
  reply->set_waiting_reason(status.waiting_reason);
  reply->set_queued(status.queued);
  if (!reply->known()) reply->set_end_reason(master_->EndReason(req->app_id()));
  return grpc::Status::OK;
}

grpc::Status MasterService::UnregisterApplication(grpc::ServerContext*,
                                                  const proto::UnregisterApplicationRequest* req,
                                                  proto::UnregisterApplicationReply*) {
  if (absl::Status caller = master_->CheckApplicationCaller(req->app_id(), req->app_token());
      !caller.ok()) {
    return rpc::ToGrpc(caller);
  }
  return rpc::ToGrpc(master_->UnregisterApplication(req->app_id(), req->final_state()));
}

grpc::Status MasterService::RequestExecutors(grpc::ServerContext*,
                                             const proto::RequestExecutorsRequest* req,
                                             proto::RequestExecutorsReply*) {
  if (absl::Status caller = master_->CheckApplicationCaller(req->app_id(), req->app_token());
      !caller.ok()) {
    return rpc::ToGrpc(caller);
  }
  return rpc::ToGrpc(master_->RequestExecutors(req->app_id(), req->total()));
}

grpc::Status MasterService::KillExecutors(grpc::ServerContext*,
                                          const proto::KillExecutorsRequest* req,
                                          proto::KillExecutorsReply*) {
  if (absl::Status caller = master_->CheckApplicationCaller(req->app_id(), req->app_token());
      !caller.ok()) {
    return rpc::ToGrpc(caller);
  }
  if (req->executor_ids_size() > Master::kMaxExecutorsPerApplication) {
    return rpc::ToGrpc(absl::InvalidArgumentError(
        StrCat("KillExecutors: more than ", Master::kMaxExecutorsPerApplication, " ids")));
  }
  return rpc::ToGrpc(master_->KillExecutors(
      req->app_id(), std::vector<int>(req->executor_ids().begin(), req->executor_ids().end())));
}

}  // namespace kiln::master
