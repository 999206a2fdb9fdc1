#pragma once
// WorkerService: the gRPC Worker service, a thin adapter over the worker's logic
// classes. Control RPCs answer UNAVAILABLE until Attach() (the worker knows its id only
// once its port is bound); the shuffle service works from the start.
//
// Thread-safe (gRPC calls it from many threads).

#include <atomic>

#include "proto/worker.grpc.pb.h"
#include "worker/driver_runner.h"
#include "worker/executor_launcher.h"
#include "worker/executor_supervisor.h"
#include "worker/executor_table.h"
#include "worker/shuffle_block_server.h"

namespace kiln::worker {

// What the control RPCs act on. Not owned; outlives the server.
struct WorkerControl {
  ExecutorLauncher* launcher = nullptr;
  ExecutorTable* table = nullptr;
  ExecutorSupervisor* supervisor = nullptr;
  DriverRunner* drivers = nullptr;  // cluster deploy mode
};

class WorkerService final : public proto::Worker::Service {
 public:
  // `token`: the worker's own; the control methods obey only calls that carry it (the
  // master it registered with).
  WorkerService(const ShuffleBlockServer* shuffle, std::string token)
      : shuffle_(shuffle), token_(std::move(token)) {}

  // `control` must outlive the server.
  void Attach(const WorkerControl* control) { control_.store(control); }

  grpc::Status LaunchExecutor(grpc::ServerContext* ctx, const proto::LaunchExecutorRequest* req,
                              proto::LaunchExecutorReply* reply) override;
  grpc::Status KillExecutor(grpc::ServerContext* ctx, const proto::KillExecutorRequest* req,
                            proto::KillExecutorReply* reply) override;
  grpc::Status ApplicationFinished(grpc::ServerContext* ctx,
                                   const proto::ApplicationFinishedRequest* req,
                                   proto::ApplicationFinishedReply* reply) override;
  grpc::Status Identify(grpc::ServerContext* ctx, const proto::IdentifyRequest* req,
                        proto::IdentifyReply* reply) override;
  grpc::Status LaunchDriver(grpc::ServerContext* ctx, const proto::LaunchDriverRequest* req,
                            proto::LaunchDriverReply* reply) override;
  grpc::Status KillDriver(grpc::ServerContext* ctx, const proto::WorkerKillDriverRequest* req,
                          proto::WorkerKillDriverReply* reply) override;
  grpc::Status FetchShuffleBlocks(grpc::ServerContext* ctx,
                                  const proto::FetchShuffleBlocksRequest* req,
                                  grpc::ServerWriter<proto::ShuffleChunk>* writer) override;
  grpc::Status FetchBroadcastChunk(grpc::ServerContext* ctx,
                                   const proto::FetchBroadcastChunkRequest* req,
                                   proto::BroadcastChunkData* reply) override;

 private:
  // PERMISSION_DENIED unless `token` is this worker's.
  grpc::Status CheckCaller(const std::string& token, const char* what) const;

  const ShuffleBlockServer* const shuffle_;
  const std::string token_;
  std::atomic<const WorkerControl*> control_{nullptr};
};

}  // namespace kiln::worker
