#include "common/clients/worker_client.h"

#include "common/rpc.h"
#include "common/status.h"
#include "common/strings.h"

namespace kiln {

WorkerClient::WorkerClient(WorkerClientOptions options)
    : options_(std::move(options)),
      stub_(proto::Worker::NewStub(
          rpc::MakeChannel(options_.address, options_.max_message_bytes))) {}

namespace {

template <class Req, class Rep, class Method>
absl::Status Call(proto::Worker::Stub* stub, Method method, const Req& request,
                  const WorkerClientOptions& options, const char* name) {
  Rep reply;
  return rpc::RetryUnavailable(StrCat(name, " to worker ", options.address), options.retry_for,
                               [&] {
                                 auto ctx = rpc::ContextWithDeadline(options.call_timeout);
                                 return (stub->*method)(ctx.get(), request, &reply);
                               });
}

}  // namespace

absl::Status WorkerClient::LaunchExecutor(const proto::LaunchExecutorRequest& request) {
  return Call<proto::LaunchExecutorRequest, proto::LaunchExecutorReply>(
      stub_.get(), &proto::Worker::Stub::LaunchExecutor, request, options_, "LaunchExecutor");
}

absl::Status WorkerClient::KillExecutor(const std::string& app_id, int executor_id) {
  proto::KillExecutorRequest request;
  request.set_app_id(app_id);
  request.set_executor_id(executor_id);
  return Call<proto::KillExecutorRequest, proto::KillExecutorReply>(
      stub_.get(), &proto::Worker::Stub::KillExecutor, request, options_, "KillExecutor");
}

absl::Status WorkerClient::ApplicationFinished(const std::string& app_id) {
  proto::ApplicationFinishedRequest request;
  request.set_app_id(app_id);
  return Call<proto::ApplicationFinishedRequest, proto::ApplicationFinishedReply>(
      stub_.get(), &proto::Worker::Stub::ApplicationFinished, request, options_,
      "ApplicationFinished");
}

absl::Status WorkerClient::FetchShuffleBlocks(
    const proto::FetchShuffleBlocksRequest& request, std::chrono::milliseconds timeout,
    const std::function<absl::Status(const proto::ShuffleChunk&)>& on_chunk) {
  auto ctx = rpc::ContextWithDeadline(timeout);
  std::unique_ptr<grpc::ClientReader<proto::ShuffleChunk>> reader =
      stub_->FetchShuffleBlocks(ctx.get(), request);
  proto::ShuffleChunk chunk;
  absl::Status callback_status;
  while (reader->Read(&chunk)) {
    callback_status = on_chunk(chunk);
    if (!callback_status.ok()) {
      ctx->TryCancel();
      break;
    }
  }
  grpc::Status status = reader->Finish();
  if (!callback_status.ok()) return callback_status;
  if (!status.ok()) {
    return Annotate(rpc::ToAbsl(status), StrCat("fetching shuffle ", request.shuffle_id(),
                                                " reduce ", request.reduce_id(), " from worker ",
                                                options_.address));
  }
  return absl::OkStatus();
}

}  // namespace kiln
