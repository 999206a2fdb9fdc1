#include "common/clients/master_client.h"

#include <fcntl.h>
#include <unistd.h>

#include "common/files.h"
#include "common/retry.h"
#include "common/rpc.h"
#include "common/strings.h"

namespace kiln {

MasterClient::MasterClient(MasterClientOptions options)
    : options_(std::move(options)),
      stub_(proto::Master::NewStub(
          rpc::MakeChannel(options_.address, 256 << 20, options_.security))) {}

namespace {

// One retried unary call: `method` is a pointer to the stub's method.
template <class Req, class Rep, class Method>
absl::StatusOr<Rep> Call(proto::Master::Stub* stub, Method method, const Req& request,
                         const MasterClientOptions& options, const char* name, bool retry = true) {
  Rep reply;
  rpc::RetryOptions retry_options{
      .what = StrCat(name, " to master ", options.address),
      .total = retry ? options.retry_for : std::chrono::milliseconds(0)};
  absl::Status status = rpc::RetryUnavailable(retry_options, [&] {
    auto ctx = rpc::ContextWithDeadline(options.call_timeout);
    return rpc::ToAbsl((stub->*method)(ctx.get(), request, &reply));
  });
  if (!status.ok()) return status;
  return reply;
}

}  // namespace

absl::StatusOr<proto::RegisterWorkerReply> MasterClient::RegisterWorker(
    const proto::RegisterWorkerRequest& request) {
  return Call<proto::RegisterWorkerRequest, proto::RegisterWorkerReply>(
      stub_.get(), &proto::Master::Stub::RegisterWorker, request, options_, "RegisterWorker");
}

absl::StatusOr<proto::WorkerHeartbeatReply> MasterClient::WorkerHeartbeat(
    const std::string& worker_id, const std::string& worker_token) {
  proto::WorkerHeartbeatRequest request;
  request.set_worker_id(worker_id);
  request.set_worker_token(worker_token);
  return Call<proto::WorkerHeartbeatRequest, proto::WorkerHeartbeatReply>(
      stub_.get(), &proto::Master::Stub::WorkerHeartbeat, request, options_, "WorkerHeartbeat",
      /*retry=*/false);
}

absl::Status MasterClient::ExecutorStateChanged(const proto::ExecutorStateChangedRequest& request) {
  return Call<proto::ExecutorStateChangedRequest, proto::ExecutorStateChangedReply>(
             stub_.get(), &proto::Master::Stub::ExecutorStateChanged, request, options_,
             "ExecutorStateChanged")
      .status();
}

absl::StatusOr<proto::RegisterApplicationReply> MasterClient::RegisterApplication(
    const proto::RegisterApplicationRequest& request) {
  return Call<proto::RegisterApplicationRequest, proto::RegisterApplicationReply>(
      stub_.get(), &proto::Master::Stub::RegisterApplication, request, options_,
      "RegisterApplication");
}

absl::Status MasterClient::UnregisterWorker(const std::string& worker_id,
                                            const std::string& worker_token,
                                            const std::string& reason) {
  proto::UnregisterWorkerRequest request;
  request.set_worker_id(worker_id);
  request.set_worker_token(worker_token);
  request.set_reason(reason);
  return Call<proto::UnregisterWorkerRequest, proto::UnregisterWorkerReply>(
             stub_.get(), &proto::Master::Stub::UnregisterWorker, request, options_,
             "UnregisterWorker", /*retry=*/false)
      .status();
}

absl::StatusOr<proto::ApplicationHeartbeatReply> MasterClient::ApplicationHeartbeat(
    const std::string& app_id, const std::string& app_token) {
  proto::ApplicationHeartbeatRequest request;
  request.set_app_id(app_id);
  request.set_app_token(app_token);
  return Call<proto::ApplicationHeartbeatRequest, proto::ApplicationHeartbeatReply>(
      stub_.get(), &proto::Master::Stub::ApplicationHeartbeat, request, options_,
      "ApplicationHeartbeat", /*retry=*/false);
}

absl::Status MasterClient::UnregisterApplication(const std::string& app_id,
                                                 const std::string& app_token,
                                                 const std::string& final_state) {
  proto::UnregisterApplicationRequest request;
  request.set_app_id(app_id);
  request.set_app_token(app_token);
  request.set_final_state(final_state);
  return Call<proto::UnregisterApplicationRequest, proto::UnregisterApplicationReply>(
             stub_.get(), &proto::Master::Stub::UnregisterApplication, request, options_,
             "UnregisterApplication")
      .status();
}

absl::Status MasterClient::RequestExecutors(const std::string& app_id, const std::string& app_token,
                                            int total) {
  proto::RequestExecutorsRequest request;
  request.set_app_id(app_id);
  request.set_app_token(app_token);
  request.set_total(total);
  return Call<proto::RequestExecutorsRequest, proto::RequestExecutorsReply>(
             stub_.get(), &proto::Master::Stub::RequestExecutors, request, options_,
             "RequestExecutors")
      .status();
}

absl::Status MasterClient::KillExecutors(const std::string& app_id, const std::string& app_token,
                                         const std::vector<int>& executor_ids) {
  proto::KillExecutorsRequest request;
  request.set_app_id(app_id);
  request.set_app_token(app_token);
  for (int id : executor_ids) request.add_executor_ids(id);
  return Call<proto::KillExecutorsRequest, proto::KillExecutorsReply>(
             stub_.get(), &proto::Master::Stub::KillExecutors, request, options_, "KillExecutors")
      .status();
}

absl::Status MasterClient::UploadDriverBinary(const std::string& path, const std::string& digest,
                                              int64_t size) {
  constexpr size_t kChunkBytes = 1 << 20;
  rpc::RetryOptions retry_options{.what = StrCat("UploadDriverBinary to master ", options_.address),
                                  .total = options_.retry_for};
  return rpc::RetryUnavailable(retry_options, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(ScopedFd fd, OpenFile(path, O_RDONLY, "application binary"));
    // A whole upload may take long; each chunk's progress is bounded by the channel.
    auto ctx = rpc::ContextWithDeadline(std::chrono::minutes(30));
    proto::UploadDriverBinaryReply reply;
    std::unique_ptr<grpc::ClientWriter<proto::DriverBinaryChunk>> writer =
        stub_->UploadDriverBinary(ctx.get(), &reply);
    proto::DriverBinaryChunk chunk;
    chunk.set_digest(digest);
    chunk.set_size(size);
    bool open = writer->Write(chunk);
    std::string buffer(kChunkBytes, '\0');
    absl::Status read_status;
    while (open) {
      const ssize_t n = read(fd.get(), buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        read_status = ErrnoError("cannot read ", path);
        ctx->TryCancel();
        break;
      }
      if (n == 0) break;
      chunk.Clear();
      chunk.set_data(buffer.data(), static_cast<size_t>(n));
      open = writer->Write(chunk);
    }
    if (open) writer->WritesDone();
    grpc::Status status = writer->Finish();
    if (!read_status.ok()) return read_status;
    return rpc::ToAbsl(status);
  });
}

absl::StatusOr<proto::SubmitDriverReply> MasterClient::SubmitDriver(
    const proto::SubmitDriverRequest& request) {
  return Call<proto::SubmitDriverRequest, proto::SubmitDriverReply>(
      stub_.get(), &proto::Master::Stub::SubmitDriver, request, options_, "SubmitDriver");
}

absl::StatusOr<proto::DriverStatusReply> MasterClient::DriverStatus(const std::string& driver_id) {
  proto::DriverStatusRequest request;
  request.set_driver_id(driver_id);
  return Call<proto::DriverStatusRequest, proto::DriverStatusReply>(
      stub_.get(), &proto::Master::Stub::DriverStatus, request, options_, "DriverStatus");
}

absl::StatusOr<proto::KillDriverReply> MasterClient::KillDriver(const std::string& driver_id) {
  proto::KillDriverRequest request;
  request.set_driver_id(driver_id);
  return Call<proto::KillDriverRequest, proto::KillDriverReply>(
      stub_.get(), &proto::Master::Stub::KillDriver, request, options_, "KillDriver");
}

absl::Status MasterClient::DriverStateChanged(const proto::DriverStateChangedRequest& request) {
  return Call<proto::DriverStateChangedRequest, proto::DriverStateChangedReply>(
             stub_.get(), &proto::Master::Stub::DriverStateChanged, request, options_,
             "DriverStateChanged")
      .status();
}

absl::Status MasterClient::FetchDriverBinary(const proto::FetchDriverBinaryRequest& request,
                                             const std::string& dest_path,
                                             std::chrono::milliseconds timeout) {
  const std::string tmp_path = UniqueTempPath(dest_path);
  absl::Status status = rpc::RetryUnavailable(
      {.what =
           StrCat("fetching driver binary ", request.digest(), " from master ", options_.address),
       .total = options_.retry_for},
      [&]() -> absl::Status {
        ASSIGN_OR_RETURN(ScopedFd fd, OpenFile(tmp_path, O_WRONLY | O_CREAT | O_TRUNC,
                                               "driver binary download", 0600));
        auto ctx = rpc::ContextWithDeadline(timeout);
        std::unique_ptr<grpc::ClientReader<proto::DriverBinaryChunk>> reader =
            stub_->FetchDriverBinary(ctx.get(), request);
        proto::DriverBinaryChunk chunk;
        absl::Status write_status;
        while (reader->Read(&chunk)) {
          write_status = WriteAll(fd.get(), chunk.data(), tmp_path);
          if (!write_status.ok()) {
            ctx->TryCancel();
            break;
          }
        }
        grpc::Status grpc_status = reader->Finish();
        if (!write_status.ok()) return write_status;
        if (!grpc_status.ok()) return rpc::ToAbsl(grpc_status);
        if (fsync(fd.get()) != 0) return ErrnoError("cannot sync ", tmp_path);
        return absl::OkStatus();
      });
  if (status.ok() && rename(tmp_path.c_str(), dest_path.c_str()) != 0) {
    status = ErrnoError("cannot rename ", tmp_path, " to ", dest_path);
  }
  if (!status.ok()) unlink(tmp_path.c_str());
  return status;
}

}  // namespace kiln
