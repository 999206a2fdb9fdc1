#include "common/clients/master_client.h"

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

}  // namespace kiln
