#pragma once
// MasterService: the Master gRPC service, a thin adapter that converts messages and calls
// kiln::master::Master. Thread-safe (as Master is).

#include "master/master.h"
#include "proto/master.grpc.pb.h"

namespace kiln::master {

class MasterService final : public proto::Master::Service {
 public:
  explicit MasterService(Master* master) : master_(master) {}  // not owned

  grpc::Status RegisterWorker(grpc::ServerContext* ctx, const proto::RegisterWorkerRequest* req,
                              proto::RegisterWorkerReply* reply) override;
  grpc::Status WorkerHeartbeat(grpc::ServerContext* ctx, const proto::WorkerHeartbeatRequest* req,
                               proto::WorkerHeartbeatReply* reply) override;
  grpc::Status UnregisterWorker(grpc::ServerContext* ctx, const proto::UnregisterWorkerRequest* req,
                                proto::UnregisterWorkerReply* reply) override;
  grpc::Status ExecutorStateChanged(grpc::ServerContext* ctx,
                                    const proto::ExecutorStateChangedRequest* req,
                                    proto::ExecutorStateChangedReply* reply) override;
  grpc::Status RegisterApplication(grpc::ServerContext* ctx,
                                   const proto::RegisterApplicationRequest* req,
                                   proto::RegisterApplicationReply* reply) override;
  grpc::Status ApplicationHeartbeat(grpc::ServerContext* ctx,
                                    const proto::ApplicationHeartbeatRequest* req,
                                    proto::ApplicationHeartbeatReply* reply) override;
  grpc::Status UnregisterApplication(grpc::ServerContext* ctx,
                                     const proto::UnregisterApplicationRequest* req,
                                     proto::UnregisterApplicationReply* reply) override;
  grpc::Status RequestExecutors(grpc::ServerContext* ctx, const proto::RequestExecutorsRequest* req,
                                proto::RequestExecutorsReply* reply) override;
  grpc::Status KillExecutors(grpc::ServerContext* ctx, const proto::KillExecutorsRequest* req,
                             proto::KillExecutorsReply* reply) override;

 private:
  Master* const master_;
};

}  // namespace kiln::master
