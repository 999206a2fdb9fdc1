#pragma once
// ShuffleEnv: what the shuffle operators of one executor share: where this executor's
// map outputs go, how blocks are compressed, and the clients used to fetch remote
// blocks. Thread-safe (task threads share one).

#include <memory>
#include <string>

#include "runtime/block_format.h"
#include "runtime/shuffle_reader.h"
#include "runtime/shuffle_writer.h"

namespace kiln::runtime {

struct ShuffleEnvOptions {
  std::string app_id;
  std::string app_dir;    // this executor's application dir (local mode: a temp dir)
  std::string worker_id;  // "" in local mode: every block is read from app_dir
  Compression compression = Compression::kLz4;
  int64_t frame_bytes = kDefaultFrameBytes;
  int64_t spill_bytes = 64 << 20;
  int64_t max_message_bytes = 256 << 20;
};

class ShuffleEnv {
 public:
  explicit ShuffleEnv(ShuffleEnvOptions options)
      : options_(std::move(options)), clients_(options_.max_message_bytes) {}

  std::unique_ptr<ShuffleWriter> NewWriter(int shuffle_id, int map_id, int num_partitions) {
    ShuffleWriterOptions w;
    w.app_dir = options_.app_dir;
    w.shuffle_id = shuffle_id;
    w.map_id = map_id;
    w.num_partitions = num_partitions;
    w.compression = options_.compression;
    w.frame_bytes = options_.frame_bytes;
    w.spill_bytes = options_.spill_bytes;
    return std::make_unique<ShuffleWriter>(std::move(w));
  }

  std::unique_ptr<ShuffleReader> NewReader() {
    ShuffleReaderOptions r;
    r.app_id = options_.app_id;
    r.local_worker_id = options_.worker_id;
    r.local_app_dir = options_.app_dir;
    return std::make_unique<ShuffleReader>(std::move(r), &clients_);
  }

  const ShuffleEnvOptions& options() const { return options_; }

 private:
  ShuffleEnvOptions options_;
  WorkerClientCache clients_;
};

}  // namespace kiln::runtime
