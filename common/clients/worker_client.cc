#include "common/clients/worker_client.h"

#include "common/retry.h"
#include "common/rpc.h"
#include "common/status.h"
#include "common/strings.h"

namespace kiln {

WorkerClient::WorkerClient(WorkerClientOptions options)
    : options_(std::move(options)),
      stub_(proto::Worker::NewStub(
          rpc::MakeChannel(options_.address, options_.max_message_bytes, options_.security))) {}

namespace {

template <class Req, class Rep, class Method>
absl::Status Call(proto::Worker::Stub* stub, Method method, const Req& request,
                  const WorkerClientOptions& options, const char* name) {
  Rep reply;
  return rpc::RetryUnavailable(
      {.what = StrCat(name, " to worker ", options.address), .total = options.retry_for}, [&] {
        auto ctx = rpc::ContextWithDeadline(options.call_timeout);
        return rpc::ToAbsl((stub->*method)(ctx.get(), request, &reply));
      });
}

}  // namespace

absl::Status WorkerClient::LaunchExecutor(const proto::LaunchExecutorRequest& request) {
  return Call<proto::LaunchExecutorRequest, proto::LaunchExecutorReply>(
      stub_.get(), &proto::Worker::Stub::LaunchExecutor, request, options_, "LaunchExecutor");
}

absl::Status WorkerClient::KillExecutor(const std::string& app_id, int executor_id,
                                        const std::string& worker_token) {
  proto::KillExecutorRequest request;
  request.set_worker_token(worker_token);
  request.set_app_id(app_id);
  request.set_executor_id(executor_id);
  return Call<proto::KillExecutorRequest, proto::KillExecutorReply>(
      stub_.get(), &proto::Worker::Stub::KillExecutor, request, options_, "KillExecutor");
}

absl::Status WorkerClient::ApplicationFinished(const std::string& app_id, bool failed,
                                               const std::string& worker_token) {
  proto::ApplicationFinishedRequest request;
  request.set_worker_token(worker_token);
  request.set_app_id(app_id);
  request.set_failed(failed);
  return Call<proto::ApplicationFinishedRequest, proto::ApplicationFinishedReply>(
      stub_.get(), &proto::Worker::Stub::ApplicationFinished, request, options_,
      "ApplicationFinished");
}

absl::Status WorkerClient::LaunchDriver(const proto::LaunchDriverRequest& request) {
  return Call<proto::LaunchDriverRequest, proto::LaunchDriverReply>(
      stub_.get(), &proto::Worker::Stub::LaunchDriver, request, options_, "LaunchDriver");
}

absl::Status WorkerClient::KillDriver(const std::string& driver_id,
                                      const std::string& worker_token) {
  proto::WorkerKillDriverRequest request;
  request.set_driver_id(driver_id);
  request.set_worker_token(worker_token);
  return Call<proto::WorkerKillDriverRequest, proto::WorkerKillDriverReply>(
      stub_.get(), &proto::Worker::Stub::KillDriver, request, options_, "KillDriver");
}

absl::Status WorkerClient::FetchShuffleBlocks(
    const proto::FetchShuffleBlocksRequest& request, std::chrono::milliseconds timeout,
    const std::function<absl::Status(const proto::ShuffleChunk&)>& on_chunk) {
  std::unique_ptr<BlockStream> stream = OpenShuffleBlocks(request, timeout);
  proto::ShuffleChunk chunk;
  while (stream->Next(&chunk)) {
    absl::Status callback_status = on_chunk(chunk);
    if (!callback_status.ok()) {
      stream->Finish().IgnoreError();  // cancelled by us: the callback's error is the one
      return callback_status;
    }
  }
  return stream->Finish();
}

std::unique_ptr<WorkerClient::BlockStream> WorkerClient::OpenShuffleBlocks(
    const proto::FetchShuffleBlocksRequest& request, std::chrono::milliseconds timeout) {
  std::unique_ptr<BlockStream> stream(new BlockStream());
  stream->ctx_ = rpc::ContextWithDeadline(timeout);
  stream->reader_ = stub_->FetchShuffleBlocks(stream->ctx_.get(), request);
  stream->what_ = StrCat("fetching shuffle ", request.shuffle_id(), " reduce ", request.reduce_id(),
                         " from worker ", options_.address);
  return stream;
}

WorkerClient::BlockStream::~BlockStream() { Finish().IgnoreError(); }

bool WorkerClient::BlockStream::Next(proto::ShuffleChunk* chunk) {
  if (ended_) return false;
  if (reader_->Read(chunk)) return true;
  ended_ = true;
  return false;
}

absl::Status WorkerClient::BlockStream::Finish() {
  if (finished_) return absl::OkStatus();
  finished_ = true;
  if (!ended_) ctx_->TryCancel();
  grpc::Status status = reader_->Finish();
  if (!ended_) return absl::CancelledError(StrCat(what_, ": stopped by the reader"));
  if (!status.ok()) return Annotate(rpc::ToAbsl(status), what_);
  return absl::OkStatus();
}

absl::StatusOr<std::string> WorkerClient::FetchBroadcastChunk(
    const proto::FetchBroadcastChunkRequest& request, std::chrono::milliseconds timeout) {
  proto::BroadcastChunkData reply;
  auto ctx = rpc::ContextWithDeadline(timeout);
  RETURN_IF_ERROR(rpc::ToAbsl(stub_->FetchBroadcastChunk(ctx.get(), request, &reply)));
  return std::move(*reply.mutable_data());
}

absl::Status WorkerClient::Identify(const std::string& worker_token,
                                    std::chrono::milliseconds timeout) {
  proto::IdentifyRequest request;
  request.set_worker_token(worker_token);
  proto::IdentifyReply reply;
  auto ctx = rpc::ContextWithDeadline(timeout);
  return rpc::ToAbsl(stub_->Identify(ctx.get(), request, &reply));
}

}  // namespace kiln
