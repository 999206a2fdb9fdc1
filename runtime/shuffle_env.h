#pragma once
// ShuffleEnv: how the shuffle operators of one executor write map outputs and read
// reduce partitions — as interfaces, so that the operator templates a user's program
// instantiates see neither gRPC nor the clients behind them. runtime/executor_shuffle.h
// builds the real one (files on the worker's disk, blocks fetched from other workers).

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "runtime/block_format.h"
#include "runtime/shuffle_params.h"
#include "runtime/shuffle_writer.h"

namespace kiln::runtime {

struct ShuffleReadMetrics {
  int64_t local_blocks = 0;   // non-empty blocks read from this worker's disk
  int64_t remote_blocks = 0;  // non-empty blocks fetched from other workers
  int64_t frames = 0;
  int64_t local_bytes = 0;   // stored (compressed) block bytes read from disk
  int64_t remote_bytes = 0;  // stored block bytes fetched from other workers
  int64_t raw_bytes = 0;     // decoded frame bytes handed to the caller
  int64_t wait_nanos = 0;    // blocked reading local blocks or waiting for remote chunks
};

// Reads reduce partitions. Not thread-safe: one per reduce task.
class ShuffleReader {
 public:
  virtual ~ShuffleReader() = default;
  // Calls `on_frame` once per frame of reduce partition `reduce_id` of every map output
  // in `params`, block after block in map-id order, the frames of a block in order. A
  // block that cannot be read fails the call with a fetch failure (see
  // runtime/shuffle_reader.h); an error `on_frame` returns is passed through unchanged.
  virtual absl::Status Read(const ShuffleReadParams& params, int reduce_id,
                            FrameCallback on_frame) = 0;
  virtual const ShuffleReadMetrics& metrics() const = 0;
};

// Thread-safe: the task threads of an executor share one.
class ShuffleEnv {
 public:
  virtual ~ShuffleEnv() = default;
  // `memory`: the task's execution memory for the writer's buffers (may be empty).
  virtual std::unique_ptr<ShuffleWriter> NewWriter(int shuffle_id, int map_id, int num_partitions,
                                                   WriterMemory memory = {}) = 0;
  virtual std::unique_ptr<ShuffleReader> NewReader() = 0;
};

}  // namespace kiln::runtime
