#pragma once
// WorkerShuffleReader: the executor's ShuffleReader (runtime/shuffle_env.h). It reads
// reduce partition r of a shuffle from every map output and hands the decoded frames
// (whole encoded records) to the caller, which decodes the records.
//
// Map outputs are read in map-id order, wherever they are, so that a reduce task sees
// the same input in the same order on every run and after any fault. Map outputs on
// this worker (a MapLocation whose worker_id is the local worker's, or whose address is
// empty: local mode) are read from disk with pread through the index. The others come
// from WorkerClient::OpenShuffleBlocks, one stream per worker naming all of that
// worker's map ids, all opened at the start; each is read when its next block is due,
// and gRPC flow control holds the senders back meanwhile, so memory stays at about a
// chunk per worker plus one frame, plus each stream's flow-control window. (A worker
// packs small blocks into one chunk: see proto/worker.proto's ShuffleChunk.)
//
// A remote stream that breaks with a transient error (UNAVAILABLE, DEADLINE_EXCEEDED,
// CANCELLED, RESOURCE_EXHAUSTED) before any frame of the block it was sending reached
// the caller is opened again for that block and the worker's later ones, after
// `retry_wait`, up to `max_retries` times per Read (kiln.shuffle.io.maxRetries and
// retryWait, as Spark's). Otherwise, a block that cannot be read (missing file,
// unreachable worker, corrupt frame) fails Read() with a status that carries a
// FetchFailure (see GetFetchFailure) naming the
// shuffle and map id, so the scheduler can rerun the map stage. An error returned by
// the caller's frame callback is passed through unchanged and carries none.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/clients/client_cache.h"
#include "common/clients/worker_client.h"
#include "runtime/block_format.h"
#include "runtime/shuffle_env.h"

namespace kiln::runtime {

// Which map output could not be read.
struct FetchFailure {
  int shuffle_id = -1;
  int map_id = -1;
  std::string address;  // the worker's shuffle service; empty for a local read
};

// Wraps `cause` (keeping its code) into an error that carries `failure`.
absl::Status FetchFailedError(const FetchFailure& failure, const absl::Status& cause);
// The FetchFailure carried by `status`, if any.
std::optional<FetchFailure> GetFetchFailure(const absl::Status& status);

// One WorkerClient per worker address, shared by the tasks of an executor.
class WorkerClientCache : public ClientCache<WorkerClient> {
 public:
  explicit WorkerClientCache(int64_t max_message_bytes = 256 << 20,
                             std::shared_ptr<const rpc::Security> security = nullptr);
};

struct WorkerShuffleReaderOptions {
  std::string app_id;           // names the application in fetch requests
  std::string local_worker_id;  // map outputs of this worker are read from disk...
  std::string local_app_dir;    // ...under ShuffleDir(local_app_dir)
  std::chrono::milliseconds fetch_timeout{std::chrono::minutes(5)};  // per worker stream
  int64_t io_buffer_bytes = 1 << 20;                                 // pread size of local blocks
  int max_retries = 3;                                               // kiln.shuffle.io.maxRetries
  std::chrono::milliseconds retry_wait{5000};                        // kiln.shuffle.io.retryWait
};

// Not thread-safe: one reader per reduce task (it reuses its buffers across Read calls).
class WorkerShuffleReader final : public ShuffleReader {
 public:
  // `clients` is not owned and must outlive the reader; it may be null when every map
  // output is local.
  WorkerShuffleReader(WorkerShuffleReaderOptions options, WorkerClientCache* clients);
  ~WorkerShuffleReader() override;
  WorkerShuffleReader(const WorkerShuffleReader&) = delete;
  WorkerShuffleReader& operator=(const WorkerShuffleReader&) = delete;

  absl::Status Read(const ShuffleReadParams& params, int reduce_id,
                    FrameCallback on_frame) override;
  const ShuffleReadMetrics& metrics() const override { return metrics_; }

 private:
  absl::Status ReadLocal(int shuffle_id, int map_id, int reduce_id, FrameCallback on_frame);
  struct RemoteStream {
    std::string address;
    proto::FetchShuffleBlocksRequest request;
    std::unique_ptr<WorkerClient::BlockStream> stream;
    int retries_left = 0;
    // The chunk being read (one of chunks_, so that its buffers keep their capacity
    // across reads) and which of its pieces comes next: kOwnPiece, an index into
    // chunk->blocks, or kNoPiece (read the next chunk).
    proto::ShuffleChunk* chunk = nullptr;
    int next_piece = kNoPiece;
  };
  static constexpr int kOwnPiece = -1;
  static constexpr int kNoPiece = -2;
  // A piece of a block, in a RemoteStream's chunk.
  struct Piece {
    int map_id = 0;
    const std::string* data = nullptr;
    bool last = false;
  };
  // The next piece of `remote` (reading its next chunk when the last one is used up);
  // false when the stream ended; an error for a chunk that packs blocks after a piece
  // that does not end its block.
  absl::StatusOr<bool> NextPiece(RemoteStream& remote, Piece* piece);
  // The stream broke with `status` before any frame of `map_id`'s block was delivered:
  // opens it again from that block on (after retry_wait) and returns true, if retries
  // are left and the error is transient.
  bool Reopen(RemoteStream& remote, int map_id, const absl::Status& status);
  // Reads the next block of `remote`, which must be map `map_id`'s.
  absl::Status ReadRemote(RemoteStream& remote, int shuffle_id, const std::string& address,
                          int map_id, int reduce_id, FrameCallback on_frame);

  WorkerShuffleReaderOptions options_;
  WorkerClientCache* clients_;
  std::string buffer_;
  std::vector<proto::ShuffleChunk> chunks_;  // one per remote worker of a read
  FrameDecoder decoder_;  // blocks arrive whole, one at a time: one decoder serves all
  ShuffleReadMetrics metrics_;
};

}  // namespace kiln::runtime
