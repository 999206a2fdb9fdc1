#pragma once
// DriverService: the driver's gRPC service, a thin adapter. Workers fetch the
// application binary (FetchBinary); executors hold one stream each (Connect): they
// register (their binary digest must equal the driver's), receive task batches and
// send back task statuses. Each connected executor becomes an ExecutorHandle of the
// task scheduler for as long as its stream lives, and no longer than `network_timeout`
// without a message from it (ExpireSilentExecutors: a stopped or hung executor is
// declared lost, its stream cancelled, whatever it sends afterwards dropped). Granted
// executors fetch broadcast variables' chunks (LocateBroadcast, FetchBroadcastChunk).
// Thread-safe.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "driver/broadcast_registry.h"
#include "driver/task_scheduler.h"
#include "proto/driver.grpc.pb.h"

namespace kiln::internal {

struct DriverServiceOptions {
  std::string binary_path;    // the driver's own executable
  std::string binary_digest;  // its SHA-256
  std::string conf;           // the application's settings, sent to executors
  std::chrono::milliseconds network_timeout{120'000};  // kiln.network.timeout
  const Clock* clock = RealClock::Get();               // not owned
  BroadcastRegistry* broadcasts = nullptr;             // not owned; null: none served
};

class DriverService final : public proto::Driver::Service {
 public:
  DriverService(DriverServiceOptions options, TaskScheduler* tasks)
      : options_(std::move(options)), tasks_(tasks) {}

  grpc::Status FetchBinary(grpc::ServerContext* context, const proto::FetchBinaryRequest* request,
                           grpc::ServerWriter<proto::BinaryChunk>* writer) override;
  grpc::Status Connect(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<proto::DriverMessage, proto::ExecutorMessage>* stream) override;
  grpc::Status ExecutorFailed(grpc::ServerContext* context,
                              const proto::ExecutorFailedRequest* request,
                              proto::ExecutorFailedReply* reply) override;
  grpc::Status LocateBroadcast(grpc::ServerContext* context,
                               const proto::LocateBroadcastRequest* request,
                               proto::BroadcastLocations* reply) override;
  grpc::Status FetchBroadcastChunk(grpc::ServerContext* context,
                                   const proto::FetchBroadcastChunkRequest* request,
                                   proto::BroadcastChunkData* reply) override;

  // The application id, once the master has given it; executors that connect before
  // wait for it (briefly).
  // The application's id and token from the master (RegisterApplicationReply): executors
  // and binary fetches must show the token the master made for their executor.
  void SetAppId(const std::string& app_id, const std::string& app_token);

  // Tells every connected executor to exit, then waits (bounded) for their streams to
  // close; one that registers afterwards is told to exit at once.
  void ShutdownExecutors(const std::string& reason);
  int connected() const;

  // Declares lost every executor silent for longer than `network_timeout`. Call it
  // regularly (the cluster backend does, every second at the most).
  void ExpireSilentExecutors();
  // When the last message from the executor came (by the options' clock); nullopt when
  // it is not connected.
  std::optional<std::chrono::steady_clock::time_point> LastSeen(
      const std::string& executor_id) const;

 private:
  class RemoteExecutor;

  DriverServiceOptions options_;
  TaskScheduler* tasks_;
  mutable absl::Mutex mu_;
  // OK when `executor_token` is what the master made for executor `executor_id` of this
  // driver's application; PERMISSION_DENIED otherwise.
  grpc::Status CheckGranted(const std::string& app_id, int executor_id,
                            const std::string& executor_token) const ABSL_LOCKS_EXCLUDED(mu_);
  // OK when a broadcast request comes from a granted executor and this driver serves
  // broadcasts.
  template <class Request>
  grpc::Status CheckBroadcastCaller(const Request& request) const ABSL_LOCKS_EXCLUDED(mu_);
  // The executor is gone: the task scheduler and the broadcast registry forget it.
  void Forget(const std::string& executor_id, const std::string& reason);

  std::string app_id_ ABSL_GUARDED_BY(mu_);
  std::string app_token_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::shared_ptr<RemoteExecutor>> executors_ ABSL_GUARDED_BY(mu_);
  // Set by ShutdownExecutors: an executor that registers afterwards is sent away at once.
  std::string shutdown_reason_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kiln::internal
