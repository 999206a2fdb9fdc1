#pragma once
// The ShuffleEnv of an executor (and of a local-mode driver): map outputs written as
// files under the application's directory on this worker, reduce partitions read from
// this worker's disk and fetched from the others' shuffle services, through one client
// per worker address shared by the executor's tasks.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/rpc_security.h"
#include "runtime/block_format.h"
#include "runtime/shuffle_env.h"

namespace kiln::runtime {

struct ShuffleEnvOptions {
  std::string app_id;
  std::string app_dir;    // this executor's application dir (local mode: a temp dir)
  std::string worker_id;  // "" in local mode: every block is read from app_dir
  Compression compression = Compression::kLz4;  // kiln.io.compression.codec
  int64_t frame_bytes = kDefaultFrameBytes;
  int64_t spill_bytes = 64 << 20;
  int64_t max_message_bytes = 256 << 20;                    // kiln.rpc.message.maxSize
  int fetch_max_retries = 3;                                // kiln.shuffle.io.maxRetries
  std::chrono::milliseconds fetch_retry_wait{5000};         // kiln.shuffle.io.retryWait
  std::shared_ptr<const rpc::Security> security = nullptr;  // of shuffle fetches; null = none
};

std::unique_ptr<ShuffleEnv> MakeShuffleEnv(ShuffleEnvOptions options);

}  // namespace kiln::runtime
