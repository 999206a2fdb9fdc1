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
#include "common/shuffle_files.h"
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
  // (shuffle_id, map_id) in pieces of at most chunk_size bytes; the piece with
  // last=true ends a block, and an empty block is one empty piece with last=true. A
  // chunk that ends a block carries the whole blocks after it while they fit in
  // chunk_size bytes in all (ShuffleChunk.blocks).
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
  // Fills chunks as proto/worker.proto's ShuffleChunk says and hands each to the sink.
  class Packer {
   public:
    // Counts what the sink took into `blocks_served` (whole blocks) and `bytes_served`.
    Packer(const ChunkSink& sink, int64_t chunk_size, std::atomic<int64_t>* blocks_served,
           std::atomic<int64_t>* bytes_served)
        : sink_(sink),
          chunk_size_(static_cast<uint64_t>(chunk_size)),
          blocks_served_(blocks_served),
          bytes_served_(bytes_served) {}
    // Reads `block` of map `map_id` into the chunk being filled, or into the next ones.
    absl::Status Add(int map_id, const ShuffleBlockFile& block);
    // Sends the chunk being filled, if any.
    absl::Status Flush();

   private:
    static absl::Status Read(const ShuffleBlockFile& block, uint64_t from, uint64_t n,
                             std::string* out);
    const ChunkSink& sink_;
    const uint64_t chunk_size_;
    std::atomic<int64_t>* const blocks_served_;
    std::atomic<int64_t>* const bytes_served_;
    proto::ShuffleChunk chunk_;  // reused: its strings keep their capacity across chunks
    bool pending_ = false;       // chunk_ holds a block's last piece, not sent yet
    uint64_t pending_bytes_ = 0;
    int64_t pending_blocks_ = 0;  // whole blocks pending_ ends or holds
  };

  ShuffleBlockServerOptions options_;
  mutable std::atomic<int64_t> blocks_served_{0};
  mutable std::atomic<int64_t> bytes_served_{0};
  mutable std::atomic<int64_t> broadcast_bytes_served_{0};
};

}  // namespace kiln::worker
