#pragma once
// ShuffleBlockServer: reads shuffle blocks from the map outputs under a worker's work
// dir and hands them out in chunks, and the chunks of broadcast variables its executors
// fetched. The gRPC FetchShuffleBlocks and FetchBroadcastChunk methods are thin adapters
// over Serve() and ServeBroadcastChunk(); this class knows nothing of gRPC, so tests
// call it directly.
//
// Thread-safe: it holds no mutable state; each Serve() call uses its own buffer.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "proto/task.pb.h"
#include "proto/worker.pb.h"

namespace kiln::worker {

struct ShuffleBlockServerOptions {
  std::string work_dir;          // absolute; application dirs are <work_dir>/<app id>
  int64_t chunk_size = 1 << 20;  // kiln.shuffle.io.chunkSize: most bytes in one chunk
  // kiln.test.failShuffleFetches: refuse every fetch, shuffle block or broadcast chunk
  // (UNAVAILABLE), for fault tests.
  bool fail_every_fetch = false;
};

class ShuffleBlockServer {
 public:
  // Receives each chunk in order; a non-OK return stops Serve() with that status. The
  // chunk is only valid during the call (its buffer is reused for the next one).
  using ChunkSink = std::function<absl::Status(const proto::ShuffleChunk&)>;

  explicit ShuffleBlockServer(ShuffleBlockServerOptions options);

  // For each map id of `request` in order, sends block `reduce_id` of map output
  // (shuffle_id, map_id) as chunks of at most chunk_size bytes; the chunk with
  // last=true ends a block, and an empty block is one empty chunk with last=true.
  // Errors: INVALID_ARGUMENT for an unsafe app id, negative ids or a reduce id beyond
  // the map output's partitions; NOT_FOUND naming (shuffle, map) for a missing index or
  // data file; DATA_LOSS for a corrupt or truncated map output. Blocks already sent
  // before an error stay sent.
  absl::Status Serve(const proto::FetchShuffleBlocksRequest& request, const ChunkSink& sink) const;

  // Fills `out` with a broadcast chunk an executor of the application on this worker
  // stored (BroadcastChunkPath). INVALID_ARGUMENT for an unsafe app id or negative ids;
  // NOT_FOUND naming the broadcast and chunk when no executor here holds it. The
  // fetcher checks the bytes against the driver's checksum.
  absl::Status ServeBroadcastChunk(const proto::FetchBroadcastChunkRequest& request,
                                   proto::BroadcastChunkData* out) const;

  // Since the worker started: blocks served whole, and bytes sent (GET /metrics).
  int64_t blocks_served() const { return blocks_served_.load(std::memory_order_relaxed); }
  int64_t bytes_served() const { return bytes_served_.load(std::memory_order_relaxed); }
  int64_t broadcast_bytes_served() const {
    return broadcast_bytes_served_.load(std::memory_order_relaxed);
  }

 private:
  absl::Status ServeBlock(const std::string& app_dir, const proto::FetchShuffleBlocksRequest& r,
                          int map_id, proto::ShuffleChunk* chunk, const ChunkSink& sink) const;

  ShuffleBlockServerOptions options_;
  mutable std::atomic<int64_t> blocks_served_{0};
  mutable std::atomic<int64_t> bytes_served_{0};
  mutable std::atomic<int64_t> broadcast_bytes_served_{0};
};

}  // namespace kiln::worker
