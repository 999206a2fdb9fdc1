#pragma once
// MasterClient: the one wrapper around the Master service's stub, used by workers and
// drivers. Owns the channel, per-call deadlines, retries of UNAVAILABLE with jittered
// backoff (up to `retry_for`), and conversion to absl::Status. Thread-safe.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/rpc_security.h"
#include "proto/master.grpc.pb.h"

namespace kiln {

struct MasterClientOptions {
  std::string address;                                      // host:port of the master
  std::chrono::milliseconds call_timeout{5000};             // deadline of one attempt
  std::chrono::milliseconds retry_for{30000};               // total time spent retrying
  std::shared_ptr<const rpc::Security> security = nullptr;  // null = no authentication, no TLS
};

class MasterClient {
 public:
  explicit MasterClient(MasterClientOptions options);

  absl::StatusOr<proto::RegisterWorkerReply> RegisterWorker(
      const proto::RegisterWorkerRequest& request);
  // Heartbeats do not retry: the next one is the retry.
  // `worker_token`, `app_token`: the caller's, as registered (see proto/master.proto).
  absl::StatusOr<proto::WorkerHeartbeatReply> WorkerHeartbeat(const std::string& worker_id,
                                                              const std::string& worker_token);
  // One attempt: a worker shutting down does not wait for a master that is gone.
  absl::Status UnregisterWorker(const std::string& worker_id, const std::string& worker_token,
                                const std::string& reason);
  absl::Status ExecutorStateChanged(const proto::ExecutorStateChangedRequest& request);
  absl::StatusOr<proto::RegisterApplicationReply> RegisterApplication(
      const proto::RegisterApplicationRequest& request);
  absl::StatusOr<proto::ApplicationHeartbeatReply> ApplicationHeartbeat(
      const std::string& app_id, const std::string& app_token);
  absl::Status UnregisterApplication(const std::string& app_id, const std::string& app_token,
                                     const std::string& final_state);
  absl::Status RequestExecutors(const std::string& app_id, const std::string& app_token, int total);
  absl::Status KillExecutors(const std::string& app_id, const std::string& app_token,
                             const std::vector<int>& executor_ids);

  // Cluster deploy mode (kiln-submit). Streams the file at `path` (whose SHA-256 is
  // `digest`) to the master in chunks of 1 MiB; retried whole on UNAVAILABLE.
  absl::Status UploadDriverBinary(const std::string& path, const std::string& digest, int64_t size);
  absl::StatusOr<proto::SubmitDriverReply> SubmitDriver(const proto::SubmitDriverRequest& request);
  absl::StatusOr<proto::DriverStatusReply> DriverStatus(const std::string& driver_id);
  absl::StatusOr<proto::KillDriverReply> KillDriver(const std::string& driver_id);
  // Workers.
  absl::Status DriverStateChanged(const proto::DriverStateChangedRequest& request);
  // Streams a driver's binary into `dest_path` (written aside and renamed, so that it
  // never holds part of one); does not check the digest (the caller does). Bounded by
  // `timeout` in all.
  absl::Status FetchDriverBinary(const proto::FetchDriverBinaryRequest& request,
                                 const std::string& dest_path, std::chrono::milliseconds timeout);

  const std::string& address() const { return options_.address; }

 private:
  MasterClientOptions options_;
  std::unique_ptr<proto::Master::Stub> stub_;
};

}  // namespace kiln
