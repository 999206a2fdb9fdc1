#include "worker/worker_service.h"

#include "common/files.h"
#include "common/rpc.h"
#include "common/rpc_security.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace kiln::worker {
namespace {

const grpc::Status kStarting(grpc::StatusCode::UNAVAILABLE, "worker is starting");

grpc::Status BadAppId(const std::string& app_id) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, StrCat("invalid app id '", app_id, "'"));
}

}  // namespace

grpc::Status WorkerService::CheckCaller(const std::string& token, const char* what) const {
  if (rpc::TokenMatches(token_, token)) return grpc::Status::OK;
  return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                      StrCat("only the master this worker registered with may ", what));
}

grpc::Status WorkerService::LaunchExecutor(grpc::ServerContext*,
                                           const proto::LaunchExecutorRequest* req,
                                           proto::LaunchExecutorReply*) {
  if (grpc::Status s = CheckCaller(req->worker_token(), "launch executors"); !s.ok()) return s;
  const WorkerControl* control = control_.load();
  if (control == nullptr) return kStarting;
  return rpc::ToGrpc(control->launcher->Submit(*req));
}

grpc::Status WorkerService::KillExecutor(grpc::ServerContext*,
                                         const proto::KillExecutorRequest* req,
                                         proto::KillExecutorReply*) {
  if (grpc::Status s = CheckCaller(req->worker_token(), "kill executors"); !s.ok()) return s;
  const WorkerControl* control = control_.load();
  if (control == nullptr) return kStarting;
  if (!IsAppId(req->app_id())) return BadAppId(req->app_id());
  spdlog::info("kill requested app={} executor={}", req->app_id(), req->executor_id());
  control->table->Kill(req->app_id(), req->executor_id());
  control->launcher->CancelExecutor(req->app_id(), req->executor_id());
  return grpc::Status::OK;
}

grpc::Status WorkerService::ApplicationFinished(grpc::ServerContext*,
                                                const proto::ApplicationFinishedRequest* req,
                                                proto::ApplicationFinishedReply*) {
  if (grpc::Status s = CheckCaller(req->worker_token(), "end applications"); !s.ok()) return s;
  const WorkerControl* control = control_.load();
  if (control == nullptr) return kStarting;
  if (!IsAppId(req->app_id())) return BadAppId(req->app_id());
  spdlog::info("application finished app={}: stopping its executors", req->app_id());
  control->table->FinishApp(req->app_id());
  control->launcher->CancelApp(req->app_id());
  control->supervisor->CleanUpWhenIdle(req->app_id(), req->failed());
  return grpc::Status::OK;
}

grpc::Status WorkerService::Identify(grpc::ServerContext*, const proto::IdentifyRequest* req,
                                     proto::IdentifyReply*) {
  return CheckCaller(req->worker_token(), "ask it who it is");
}

grpc::Status WorkerService::LaunchDriver(grpc::ServerContext*,
                                         const proto::LaunchDriverRequest* req,
                                         proto::LaunchDriverReply*) {
  if (grpc::Status s = CheckCaller(req->worker_token(), "launch drivers"); !s.ok()) return s;
  const WorkerControl* control = control_.load();
  if (control == nullptr) return kStarting;
  return rpc::ToGrpc(control->drivers->Launch(*req));
}

grpc::Status WorkerService::KillDriver(grpc::ServerContext*,
                                       const proto::WorkerKillDriverRequest* req,
                                       proto::WorkerKillDriverReply*) {
  if (grpc::Status s = CheckCaller(req->worker_token(), "kill drivers"); !s.ok()) return s;
  const WorkerControl* control = control_.load();
  if (control == nullptr) return kStarting;
  spdlog::info("kill requested driver={}", EscapeControl(req->driver_id()));
  control->drivers->Kill(req->driver_id());
  return grpc::Status::OK;
}

grpc::Status WorkerService::FetchShuffleBlocks(grpc::ServerContext* ctx,
                                               const proto::FetchShuffleBlocksRequest* req,
                                               grpc::ServerWriter<proto::ShuffleChunk>* writer) {
  // Write() is synchronous: it returns once gRPC has taken the chunk, and blocks while
  // the stream's HTTP/2 flow-control window is full. So the bytes in flight per stream
  // are capped by that window plus one chunk, however large the block.
  absl::Status status = shuffle_->Serve(*req, [&](const proto::ShuffleChunk& chunk) {
    if (ctx->IsCancelled() || !writer->Write(chunk)) {
      return absl::CancelledError("the reducer went away");
    }
    return absl::OkStatus();
  });
  if (!status.ok() && !absl::IsCancelled(status)) {
    spdlog::debug("shuffle fetch app={} shuffle={} reduce={}: {}", req->app_id(), req->shuffle_id(),
                  req->reduce_id(), View(status.message()));
  }
  return rpc::ToGrpc(status);
}

grpc::Status WorkerService::FetchBroadcastChunk(grpc::ServerContext*,
                                                const proto::FetchBroadcastChunkRequest* req,
                                                proto::BroadcastChunkData* reply) {
  return rpc::ToGrpc(shuffle_->ServeBroadcastChunk(*req, reply));
}

}  // namespace kiln::worker
