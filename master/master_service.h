#pragma once
// MasterService: the Master gRPC service, a thin adapter that converts messages and calls
// kiln::master::Master. Thread-safe (as Master is).

#include "master/driver_binaries.h"
#include "master/master.h"
#include "proto/master.grpc.pb.h"

namespace kiln::master {

class MasterService final : public proto::Master::Service {
 public:
  // Not owned. `binaries`: where uploaded driver binaries go.
  MasterService(Master* master, DriverBinaries* binaries) : master_(master), binaries_(binaries) {}

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

  // Cluster deploy mode (master_service_drivers.cc).
  grpc::Status UploadDriverBinary(grpc::ServerContext* ctx,
                                  grpc::ServerReader<proto::DriverBinaryChunk>* reader,
                                  proto::UploadDriverBinaryReply* reply) override;
  grpc::Status SubmitDriver(grpc::ServerContext* ctx, const proto::SubmitDriverRequest* req,
                            proto::SubmitDriverReply* reply) override;
  grpc::Status DriverStatus(grpc::ServerContext* ctx, const proto::DriverStatusRequest* req,
                            proto::DriverStatusReply* reply) override;
  grpc::Status KillDriver(grpc::ServerContext* ctx, const proto::KillDriverRequest* req,
                          proto::KillDriverReply* reply) override;
  grpc::Status DriverStateChanged(grpc::ServerContext* ctx,
                                  const proto::DriverStateChangedRequest* req,
                                  proto::DriverStateChangedReply* reply) override;
  grpc::Status FetchDriverBinary(grpc::ServerContext* ctx,
                                 const proto::FetchDriverBinaryRequest* req,
                                 grpc::ServerWriter<proto::DriverBinaryChunk>* writer) override;

 private:
  Master* const master_;
  DriverBinaries* const binaries_;
};

}  // namespace kiln::master
