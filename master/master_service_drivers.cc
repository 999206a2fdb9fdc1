// MasterService's cluster-deploy-mode calls: uploads and fetches of driver binaries, and
// the drivers' submission, status, kill and state reports. See master_service.h.

#include <fcntl.h>
#include <unistd.h>

#include "common/files.h"
#include "common/rpc.h"
#include "common/strings.h"
#include "master/master_service.h"

namespace kiln::master {
namespace {

proto::DriverState ToProto(const std::string& state) {
  static const std::pair<const char*, proto::DriverState> kStates[] = {
      {"SUBMITTED", proto::DRIVER_SUBMITTED},
      {"RUNNING", proto::DRIVER_RUNNING},
      {"RELAUNCHING", proto::DRIVER_RELAUNCHING},
      {"FINISHED", proto::DRIVER_FINISHED},
      {"FAILED", proto::DRIVER_FAILED},
      {"KILLED", proto::DRIVER_KILLED},
      {"ERROR", proto::DRIVER_ERROR}};
  for (const auto& [name, value] : kStates) {
    if (state == name) return value;
  }
  return proto::DRIVER_STATE_UNSPECIFIED;
}

absl::StatusOr<DriverState> FromProto(proto::DriverState state) {
  switch (state) {
    case proto::DRIVER_RUNNING:
      return DriverState::kRunning;
    case proto::DRIVER_FINISHED:
      return DriverState::kFinished;
    case proto::DRIVER_FAILED:
      return DriverState::kFailed;
    case proto::DRIVER_KILLED:
      return DriverState::kKilled;
    case proto::DRIVER_ERROR:
      return DriverState::kError;
    default:
      return absl::InvalidArgumentError(StrCat(
          "DriverStateChanged: state ", static_cast<int>(state), " is not one a worker reports"));
  }
}

constexpr size_t kChunkBytes = 1 << 20;

}  // namespace

grpc::Status MasterService::UploadDriverBinary(grpc::ServerContext*,
                                               grpc::ServerReader<proto::DriverBinaryChunk>* reader,
                                               proto::UploadDriverBinaryReply*) {
  proto::DriverBinaryChunk chunk;
  if (!reader->Read(&chunk)) {
    return rpc::ToGrpc(absl::InvalidArgumentError("UploadDriverBinary: no header chunk"));
  }
  const std::string digest = chunk.digest();
  if (binaries_->Has(digest)) return grpc::Status::OK;  // the bytes that follow are not needed
  return rpc::ToGrpc(binaries_->Receive(digest, chunk.size(), [&](std::string* data) {
    if (!reader->Read(&chunk)) return false;
    data->swap(*chunk.mutable_data());
    return true;
  }));
}

grpc::Status MasterService::SubmitDriver(grpc::ServerContext*,
                                         const proto::SubmitDriverRequest* req,
                                         proto::SubmitDriverReply* reply) {
  if (!binaries_->Has(req->binary_digest())) {
    return rpc::ToGrpc(absl::FailedPreconditionError(
        StrCat("SubmitDriver: no binary with digest '", req->binary_digest().substr(0, 64),
               "' was uploaded (UploadDriverBinary first)")));
  }
  DriverRequest r{.name = req->name(),
                  .binary_digest = req->binary_digest(),
                  .binary_size = req->binary_size(),
                  .args = {req->args().begin(), req->args().end()},
                  .conf = req->conf(),
                  .cores = req->cores(),
                  .memory_mb = req->memory_mb(),
                  .supervise = req->supervise(),
                  .max_relaunches = req->max_relaunches(),
                  .user = req->user(),
                  .request_id = req->request_id()};
  absl::StatusOr<std::string> id = master_->SubmitDriver(r);
  if (!id.ok()) return rpc::ToGrpc(id.status());
  reply->set_driver_id(*id);
  return grpc::Status::OK;
}

grpc::Status MasterService::DriverStatus(grpc::ServerContext*,
                                         const proto::DriverStatusRequest* req,
                                         proto::DriverStatusReply* reply) {
  absl::StatusOr<DriverView> v = master_->DriverStatus(req->driver_id());
  if (!v.ok()) return rpc::ToGrpc(v.status());
  reply->set_state(ToProto(v->state));
  reply->set_worker_id(v->worker_id);
  reply->set_worker_address(v->worker_address);
  reply->set_app_id(v->app_id);
  reply->set_message(v->message);
  reply->set_exit_code(v->exit_code);
  reply->set_relaunches(v->relaunches);
  reply->set_name(v->name);
  return grpc::Status::OK;
}

grpc::Status MasterService::KillDriver(grpc::ServerContext*, const proto::KillDriverRequest* req,
                                       proto::KillDriverReply* reply) {
  absl::StatusOr<kiln::master::DriverState> state = master_->KillDriver(req->driver_id());
  if (!state.ok()) return rpc::ToGrpc(state.status());
  reply->set_state(proto::DRIVER_KILLED);  // the only state a kill that succeeds returns
  return grpc::Status::OK;
}

grpc::Status MasterService::DriverStateChanged(grpc::ServerContext*,
                                               const proto::DriverStateChangedRequest* req,
                                               proto::DriverStateChangedReply*) {
  if (absl::Status caller = master_->CheckWorkerCaller(req->worker_id(), req->worker_token());
      !caller.ok()) {
    return rpc::ToGrpc(caller);
  }
  absl::StatusOr<kiln::master::DriverState> state = FromProto(req->state());
  if (!state.ok()) return rpc::ToGrpc(state.status());
  return rpc::ToGrpc(master_->DriverStateChanged({.worker_id = req->worker_id(),
                                                  .driver_id = req->driver_id(),
                                                  .attempt = req->attempt(),
                                                  .state = *state,
                                                  .message = req->message(),
                                                  .exit_code = req->exit_code()}));
}

grpc::Status MasterService::FetchDriverBinary(
    grpc::ServerContext* ctx, const proto::FetchDriverBinaryRequest* req,
    grpc::ServerWriter<proto::DriverBinaryChunk>* writer) {
  if (req->worker_token().empty()) {
    return rpc::ToGrpc(absl::PermissionDeniedError("FetchDriverBinary: no worker token"));
  }
  if (absl::Status caller = master_->CheckWorkerCaller(req->worker_id(), req->worker_token());
      !caller.ok()) {
    return rpc::ToGrpc(caller);
  }
  if (!master_->MayFetchDriverBinary(req->worker_id(), req->digest())) {
    return rpc::ToGrpc(absl::PermissionDeniedError(
        StrCat("FetchDriverBinary: no driver running from that binary is placed on worker ",
               req->worker_id())));
  }
  absl::StatusOr<ScopedFd> fd =
      OpenFile(binaries_->PathOf(req->digest()), O_RDONLY, "driver binary");
  if (!fd.ok()) return rpc::ToGrpc(fd.status());
  proto::DriverBinaryChunk chunk;
  std::string buffer(kChunkBytes, '\0');
  for (;;) {
    if (ctx->IsCancelled()) return grpc::Status::CANCELLED;
    const ssize_t n = read(fd->get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return rpc::ToGrpc(ErrnoError("cannot read ", binaries_->PathOf(req->digest())));
    if (n == 0) return grpc::Status::OK;
    chunk.set_data(buffer.data(), static_cast<size_t>(n));
    if (!writer->Write(chunk)) return grpc::Status::CANCELLED;
  }
}

}  // namespace kiln::master
