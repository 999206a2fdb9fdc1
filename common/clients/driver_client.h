#pragma once
// DriverClient: the one wrapper around the Driver service's stub for callers outside the
// driver. Workers use FetchBinary to get an application's binary; executors fetch
// broadcast variables (LocateBroadcast, FetchBroadcastChunk). Owns the channel,
// deadlines, retries of UNAVAILABLE (before any byte has arrived) and conversion to
// absl::Status. Thread-safe; Cancel() may be called from any thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/background.h"
#include "common/rpc_security.h"
#include "proto/driver.grpc.pb.h"

namespace kiln {

struct DriverClientOptions {
  std::string address;                               // host:port of the driver
  std::chrono::milliseconds fetch_timeout{600'000};  // bounds one whole FetchBinary
  // A FetchBinary that receives nothing for this long is abandoned (DEADLINE_EXCEEDED):
  // a driver that stalls holds a launcher thread this long at most.
  std::chrono::milliseconds stall_timeout{30'000};
  std::chrono::milliseconds retry_for{10'000};    // retrying UNAVAILABLE to connect
  std::chrono::milliseconds call_timeout{5'000};  // a unary call
  int64_t max_message_bytes = 256 << 20;
  // FetchBinary fails (RESOURCE_EXHAUSTED) once the driver has sent more than this: the
  // size it declared. 0 = no limit.
  int64_t max_binary_bytes = 0;
  std::shared_ptr<const rpc::Security> security = nullptr;  // null = no authentication, no TLS
};

class DriverClient {
 public:
  explicit DriverClient(DriverClientOptions options);

  // Streams the binary named by `request` into `dest_path`, from byte request.offset()
  // on: the file is cut to that many bytes (the ones a fetch cut short left there) and
  // the driver's bytes follow. When the stream breaks, the whole chunks that arrived
  // stay, so that a later fetch can resume. Does not check the digest (the caller
  // does). Errors name the driver and the path.
  // `request` names the application, the digest and the executor it is for, with the
  // executor's token (the driver serves only executors the master granted).
  absl::Status FetchBinary(const proto::FetchBinaryRequest& request, const std::string& dest_path);

  // Tells the driver that one of its executors failed (one call, bounded by
  // call_timeout: a driver that is gone learns nothing).
  absl::Status ExecutorFailed(const proto::ExecutorFailedRequest& request);

  // Broadcast variables: where the chunks of one are (reporting those the caller now
  // holds), and a chunk of the driver's copy. One attempt each, bounded by
  // call_timeout: the driver's refusals (FAILED_PRECONDITION for a destroyed broadcast,
  // NOT_FOUND) pass through unchanged.
  absl::StatusOr<proto::BroadcastLocations> LocateBroadcast(
      const proto::LocateBroadcastRequest& request);
  absl::StatusOr<std::string> FetchBroadcastChunk(const proto::FetchBroadcastChunkRequest& request);

  // Cancels the calls in flight and makes later calls fail with CANCELLED.
  void Cancel();

  const std::string& address() const { return options_.address; }

 private:
  absl::Status FetchOnce(const proto::FetchBinaryRequest& request, const std::string& path,
                         bool* received_data);

  DriverClientOptions options_;
  std::unique_ptr<proto::Driver::Stub> stub_;
  StopSignal cancelled_;
  absl::Mutex mu_;
  std::set<grpc::ClientContext*> active_ ABSL_GUARDED_BY(mu_);  // calls in flight
};

}  // namespace kiln
