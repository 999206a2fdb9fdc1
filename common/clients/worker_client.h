#pragma once
// WorkerClient: the one wrapper around the Worker service's stub. The master uses the
// control methods; reduce tasks use FetchShuffleBlocks, executors FetchBroadcastChunk.
// Thread-safe.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/rpc_security.h"
#include "proto/worker.grpc.pb.h"

namespace kiln {

struct WorkerClientOptions {
  std::string address;  // host:port of the worker
  std::chrono::milliseconds call_timeout{10000};
  std::chrono::milliseconds retry_for{10000};
  int64_t max_message_bytes = 256 << 20;
  std::shared_ptr<const rpc::Security> security = nullptr;  // null = no authentication, no TLS
};

class WorkerClient {
 public:
  explicit WorkerClient(WorkerClientOptions options);

  absl::Status LaunchExecutor(const proto::LaunchExecutorRequest& request);
  // `worker_token`: the worker's own, which only the master it registered with knows.
  absl::Status KillExecutor(const std::string& app_id, int executor_id,
                            const std::string& worker_token);
  // `failed`: it ended FAILED or KILLED (the worker keeps its executors' logs).
  absl::Status ApplicationFinished(const std::string& app_id, bool failed,
                                   const std::string& worker_token);
  // Cluster deploy mode: starts or stops a driver on the worker.
  absl::Status LaunchDriver(const proto::LaunchDriverRequest& request);
  absl::Status KillDriver(const std::string& driver_id, const std::string& worker_token);
  // OK when the worker there holds `worker_token`. One attempt, bounded by `timeout`.
  absl::Status Identify(const std::string& worker_token, std::chrono::milliseconds timeout);

  // Streams the blocks; `on_chunk` is called for each chunk in arrival order and may
  // return an error to cancel the stream. No retry: a failed fetch is a fetch failure
  // that the scheduler handles. `timeout` bounds the whole call.
  absl::Status FetchShuffleBlocks(
      const proto::FetchShuffleBlocksRequest& request, std::chrono::milliseconds timeout,
      const std::function<absl::Status(const proto::ShuffleChunk&)>& on_chunk);

  // The same call as a stream the caller pulls chunks from, so that it can hold several
  // open (one per worker) and read them in the order it needs; gRPC flow control holds
  // each sender back meanwhile. `timeout` bounds the stream from its opening.
  class BlockStream {
   public:
    ~BlockStream();  // cancels a stream that was not read to its end
    // The next chunk; false at the end of the stream or on an error (see Finish).
    bool Next(proto::ShuffleChunk* chunk);
    // The stream's outcome; cancels it first if chunks are left.
    absl::Status Finish();

   private:
    friend class WorkerClient;
    BlockStream() = default;
    std::unique_ptr<grpc::ClientContext> ctx_;
    std::unique_ptr<grpc::ClientReader<proto::ShuffleChunk>> reader_;
    std::string what_;  // "fetching shuffle S reduce R from worker A"
    bool ended_ = false;
    bool finished_ = false;
  };
  std::unique_ptr<BlockStream> OpenShuffleBlocks(const proto::FetchShuffleBlocksRequest& request,
                                                 std::chrono::milliseconds timeout);

  // A chunk of a broadcast variable an executor on that worker holds. One attempt,
  // bounded by `timeout`: the caller asks the driver instead when it fails.
  absl::StatusOr<std::string> FetchBroadcastChunk(const proto::FetchBroadcastChunkRequest& request,
                                                  std::chrono::milliseconds timeout);

  const std::string& address() const { return options_.address; }

 private:
  WorkerClientOptions options_;
  std::unique_ptr<proto::Worker::Stub> stub_;
};

}  // namespace kiln
