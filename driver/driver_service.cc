#include "driver/driver_service.h"

#include <fstream>

#include "common/rpc.h"
#include "common/rpc_security.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace kiln::internal {

// A connected executor. Writes to its stream are serialized by `write_mu_`, which
// guards only the stream.
class DriverService::RemoteExecutor final : public ExecutorHandle {
 public:
  RemoteExecutor(ExecutorInfo info, grpc::ServerContext* context,
                 grpc::ServerReaderWriter<proto::DriverMessage, proto::ExecutorMessage>* stream,
                 std::chrono::steady_clock::time_point now)
      : ExecutorHandle(std::move(info)), context_(context), last_seen_(now), stream_(stream) {}

  bool Launch(const proto::LaunchTasks& launch) override {
    proto::DriverMessage message;
    *message.mutable_launch() = launch;
    return Write(message);
  }

  bool RemoveDataset(int dataset) override {
    proto::DriverMessage message;
    message.mutable_remove_dataset()->set_dataset(dataset);
    return Write(message);
  }

  bool RemoveBroadcast(int64_t id) override {
    proto::DriverMessage message;
    message.mutable_remove_broadcast()->set_broadcast_id(id);
    return Write(message);
  }

  bool KillTasks(const proto::KillTasks& kill) override {
    proto::DriverMessage message;
    *message.mutable_kill_tasks() = kill;
    return Write(message);
  }

  bool Write(const proto::DriverMessage& message) {
    absl::MutexLock lock(&write_mu_);
    if (closed_) return false;
    if (!stream_->Write(message)) closed_ = true;
    return !closed_;
  }

  // After this the stream is not touched again (the RPC handler is returning).
  void Close() {
    absl::MutexLock lock(&write_mu_);
    closed_ = true;
  }

  // A message came from it (the stream's reader thread).
  void Seen(std::chrono::steady_clock::time_point now) {
    absl::MutexLock lock(&seen_mu_);
    last_seen_ = now;
  }
  // Marks it lost if it has been silent past `timeout`: later messages are dropped.
  // True the first time only.
  bool ExpireIfSilent(std::chrono::steady_clock::time_point now,
                      std::chrono::milliseconds timeout) {
    absl::MutexLock lock(&seen_mu_);
    if (expired_ || now - last_seen_ <= timeout) return false;
    expired_ = true;
    return true;
  }
  bool expired() {
    absl::MutexLock lock(&seen_mu_);
    return expired_;
  }
  std::chrono::steady_clock::time_point last_seen() {
    absl::MutexLock lock(&seen_mu_);
    return last_seen_;
  }
  // Ends its stream (the executor, if it ever runs again, finds it closed and exits).
  void Cancel() {
    absl::MutexLock lock(&seen_mu_);
    // The context is valid until Detach: the handler takes seen_mu_ before it returns.
    if (!detached_) context_->TryCancel();
  }
  // The handler is returning: no more cancels.
  void Detach() {
    absl::MutexLock lock(&seen_mu_);
    detached_ = true;
  }

 private:
  grpc::ServerContext* const context_;
  absl::Mutex seen_mu_;
  std::chrono::steady_clock::time_point last_seen_ ABSL_GUARDED_BY(seen_mu_);
  bool expired_ ABSL_GUARDED_BY(seen_mu_) = false;
  bool detached_ ABSL_GUARDED_BY(seen_mu_) = false;
  absl::Mutex write_mu_;
  grpc::ServerReaderWriter<proto::DriverMessage, proto::ExecutorMessage>* stream_
      ABSL_GUARDED_BY(write_mu_);
  bool closed_ ABSL_GUARDED_BY(write_mu_) = false;
};

grpc::Status DriverService::ExecutorFailed(grpc::ServerContext*,
                                           const proto::ExecutorFailedRequest* request,
                                           proto::ExecutorFailedReply*) {
  if (grpc::Status s =
          CheckGranted(request->app_id(), request->executor_id(), request->executor_token());
      !s.ok()) {
    return s;
  }
  tasks_->ExecutorFailed(std::to_string(request->executor_id()), request->message(),
                         request->crashed_task_id());
  return grpc::Status::OK;
}

template <class Request>
grpc::Status DriverService::CheckBroadcastCaller(const Request& request) const {
  if (grpc::Status s =
          CheckGranted(request.app_id(), request.executor_id(), request.executor_token());
      !s.ok()) {
    return s;
  }
  if (options_.broadcasts == nullptr) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "this driver serves no broadcast variables");
  }
  return grpc::Status::OK;
}

grpc::Status DriverService::LocateBroadcast(grpc::ServerContext*,
                                            const proto::LocateBroadcastRequest* request,
                                            proto::BroadcastLocations* reply) {
  if (grpc::Status s = CheckBroadcastCaller(*request); !s.ok()) return s;
  const std::string executor = StrCat(request->executor_id());
  std::string address;
  {
    absl::MutexLock lock(&mu_);
    auto it = executors_.find(executor);
    if (it != executors_.end()) address = it->second->info().shuffle_address;
  }
  absl::StatusOr<proto::BroadcastLocations> where =
      options_.broadcasts->Locate(request->broadcast_id(), executor, address,
                                  {request->held_chunks().begin(), request->held_chunks().end()});
  if (!where.ok()) return rpc::ToGrpc(where.status());
  *reply = *std::move(where);
  return grpc::Status::OK;
}

grpc::Status DriverService::FetchBroadcastChunk(grpc::ServerContext*,
                                                const proto::FetchBroadcastChunkRequest* request,
                                                proto::BroadcastChunkData* reply) {
  if (grpc::Status s = CheckBroadcastCaller(*request); !s.ok()) return s;
  return rpc::ToGrpc(
      options_.broadcasts->Chunk(request->broadcast_id(), request->chunk(), reply->mutable_data()));
}

grpc::Status DriverService::FetchBinary(grpc::ServerContext*,
                                        const proto::FetchBinaryRequest* request,
                                        grpc::ServerWriter<proto::BinaryChunk>* writer) {
  if (grpc::Status s =
          CheckGranted(request->app_id(), request->executor_id(), request->executor_token());
      !s.ok()) {
    return s;
  }
  // Not naming the driver's own digest: the caller must already know it.
  if (request->digest() != options_.binary_digest) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        StrCat("this driver does not serve binary ", request->digest()));
  }
  std::ifstream in(options_.binary_path, std::ios::binary | std::ios::ate);
  if (!in) {
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        StrCat("driver cannot read its binary ", options_.binary_path));
  }
  const auto size = static_cast<int64_t>(in.tellg());
  if (request->offset() < 0 || request->offset() > size) {
    return grpc::Status(
        grpc::StatusCode::OUT_OF_RANGE,
        StrCat("offset ", request->offset(), " is outside the binary's ", size, " bytes"));
  }
  in.seekg(request->offset());
  proto::BinaryChunk chunk;
  std::string buffer(1 << 20, '\0');
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    if (in.gcount() <= 0) break;
    chunk.set_data(buffer.data(), static_cast<size_t>(in.gcount()));
    if (!writer->Write(chunk)) return grpc::Status(grpc::StatusCode::CANCELLED, "fetch cancelled");
  }
  return grpc::Status::OK;
}

grpc::Status DriverService::Connect(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<proto::DriverMessage, proto::ExecutorMessage>* stream) {
  proto::ExecutorMessage message;
  if (!stream->Read(&message) || !message.has_register_()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "an executor must register first");
  }
  const proto::RegisterExecutor& reg = message.register_();
  std::string app_id;
  {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(
                             +[](std::string* id) { return !id->empty(); }, &app_id_),
                         absl::Seconds(10));
    app_id = app_id_;
  }
  std::string refusal;
  if (reg.app_id() != app_id) {
    refusal =
        StrCat("executor belongs to application ", reg.app_id(), ", this driver runs ", app_id);
  } else if (grpc::Status granted =
                 CheckGranted(reg.app_id(), reg.executor_id(), reg.executor_token());
             !granted.ok()) {
    refusal = granted.error_message();
  } else if (reg.binary_digest() != options_.binary_digest) {
    refusal =
        StrCat("executor binary digest ", reg.binary_digest(), " differs from the driver's ",
               options_.binary_digest, ": the executor runs a different build of the application");
  }
  ExecutorInfo info;
  info.id = StrCat(reg.executor_id());
  info.host = reg.host();
  info.cores = std::max(1, reg.cores());
  info.worker_id = reg.worker_id();
  info.shuffle_address = reg.shuffle_address();
  info.log_url = reg.log_url();
  if (!refusal.empty()) {
    spdlog::error("app={} executor={} host={} refused: {}", app_id, info.id, info.host, refusal);
    proto::DriverMessage reply;
    reply.mutable_shutdown()->set_reason(refusal);
    stream->Write(reply);
    return grpc::Status::OK;
  }
  auto executor = std::make_shared<RemoteExecutor>(info, context, stream, options_.clock->Now());
  proto::DriverMessage welcome;
  welcome.mutable_registered()->set_conf(options_.conf);
  if (!executor->Write(welcome)) return grpc::Status::OK;
  std::string shutting_down;
  {
    absl::MutexLock lock(&mu_);
    if (shutdown_reason_.empty()) {
      executors_[info.id] = executor;
    } else {
      shutting_down = shutdown_reason_;
    }
  }
  if (!shutting_down.empty()) {
    // It registered after ShutdownExecutors told the others to go: it goes too, now,
    // rather than keep the driver waiting for its stream to end.
    spdlog::info("app={} executor={} registered while the application ends: shut down", app_id,
                 info.id);
    proto::DriverMessage bye;
    bye.mutable_shutdown()->set_reason(shutting_down);
    executor->Write(bye);
    executor->Close();
    executor->Detach();
    return grpc::Status::OK;
  }
  spdlog::info("app={} executor={} registered from host={} worker={} cores={}", app_id, info.id,
               info.host, info.worker_id, info.cores);
  tasks_->AddExecutor(executor);
  while (stream->Read(&message)) {
    if (executor->expired()) break;  // declared lost: what it says now comes too late
    executor->Seen(options_.clock->Now());
    if (!message.has_statuses()) continue;
    if (message.statuses().progress_size() > 0) {
      tasks_->OnProgress(
          info.id, {message.statuses().progress().begin(), message.statuses().progress().end()});
    }
    std::vector<proto::TaskStatus> statuses(
        std::make_move_iterator(message.mutable_statuses()->mutable_statuses()->begin()),
        std::make_move_iterator(message.mutable_statuses()->mutable_statuses()->end()));
    tasks_->OnStatuses(info.id, std::move(statuses));
  }
  executor->Close();
  executor->Detach();
  // The scheduler forgets the executor before ShutdownExecutors can see it gone.
  Forget(info.id, "its stream closed");
  {
    absl::MutexLock lock(&mu_);
    executors_.erase(info.id);
  }
  return grpc::Status::OK;
}

void DriverService::Forget(const std::string& executor_id, const std::string& reason) {
  tasks_->RemoveExecutor(executor_id, reason);
  if (options_.broadcasts != nullptr) options_.broadcasts->ExecutorRemoved(executor_id);
}

void DriverService::SetAppId(const std::string& app_id, const std::string& app_token) {
  absl::MutexLock lock(&mu_);
  app_id_ = app_id;
  app_token_ = app_token;
}

grpc::Status DriverService::CheckGranted(const std::string& app_id, int executor_id,
                                         const std::string& executor_token) const {
  absl::MutexLock lock(&mu_);
  if (app_id.empty() || app_id != app_id_ ||
      !rpc::TokenMatches(rpc::ExecutorToken(app_token_, executor_id), executor_token)) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        StrCat("executor ", executor_id, " of ", app_id,
                               " was not granted to this driver by its master"));
  }
  return grpc::Status::OK;
}

void DriverService::ShutdownExecutors(const std::string& reason) {
  std::vector<std::shared_ptr<RemoteExecutor>> executors;
  {
    absl::MutexLock lock(&mu_);
    shutdown_reason_ = reason.empty() ? "application ended" : reason;
    for (auto& [id, ex] : executors_) executors.push_back(ex);
  }
  proto::DriverMessage message;
  message.mutable_shutdown()->set_reason(reason);
  for (auto& ex : executors) ex->Write(message);
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(
      absl::Condition(
          +[](absl::flat_hash_map<std::string, std::shared_ptr<RemoteExecutor>>* m) {
            return m->empty();
          },
          &executors_),
      absl::Seconds(5));
}

void DriverService::ExpireSilentExecutors() {
  std::vector<std::shared_ptr<RemoteExecutor>> executors;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, ex] : executors_) executors.push_back(ex);
  }
  const auto now = options_.clock->Now();
  for (auto& ex : executors) {
    if (!ex->ExpireIfSilent(now, options_.network_timeout)) continue;
    const std::string reason =
        StrCat("no message from it for ", options_.network_timeout.count() / 1000.0,
               " s (kiln.network.timeout)");
    spdlog::warn("executor={} on host {} declared lost: {}", ex->info().id, ex->info().host,
                 reason);
    Forget(ex->info().id, reason);  // before its stream closes
    ex->Cancel();
  }
}

std::optional<std::chrono::steady_clock::time_point> DriverService::LastSeen(
    const std::string& executor_id) const {
  std::shared_ptr<RemoteExecutor> executor;
  {
    absl::MutexLock lock(&mu_);
    auto it = executors_.find(executor_id);
    if (it == executors_.end()) return std::nullopt;
    executor = it->second;
  }
  return executor->last_seen();
}

int DriverService::connected() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(executors_.size());
}

}  // namespace kiln::internal
