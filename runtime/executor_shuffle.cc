#include "runtime/executor_shuffle.h"

#include <utility>

#include "runtime/shuffle_reader.h"

namespace kiln::runtime {
namespace {

class ExecutorShuffle final : public ShuffleEnv {
 public:
  explicit ExecutorShuffle(ShuffleEnvOptions options)
      : options_(std::move(options)), clients_(options_.max_message_bytes, options_.security) {}

  std::unique_ptr<ShuffleWriter> NewWriter(int shuffle_id, int map_id, int num_partitions,
                                           WriterMemory memory) override {
    return std::make_unique<ShuffleWriter>(ShuffleWriterOptions{
        .app_dir = options_.app_dir,
        .shuffle_id = shuffle_id,
        .map_id = map_id,
        .num_partitions = num_partitions,
        .compression = options_.compression,
        .frame_bytes = options_.frame_bytes,
        .spill_bytes = options_.spill_bytes,
        .memory = std::move(memory),
    });
  }

  std::unique_ptr<ShuffleReader> NewReader() override {
    return std::make_unique<WorkerShuffleReader>(
        WorkerShuffleReaderOptions{.app_id = options_.app_id,
                                   .local_worker_id = options_.worker_id,
                                   .local_app_dir = options_.app_dir,
                                   .max_retries = options_.fetch_max_retries,
                                   .retry_wait = options_.fetch_retry_wait},
        &clients_);
  }

 private:
  const ShuffleEnvOptions options_;
  WorkerClientCache clients_;
};

}  // namespace

std::unique_ptr<ShuffleEnv> MakeShuffleEnv(ShuffleEnvOptions options) {
  return std::make_unique<ExecutorShuffle>(std::move(options));
}

}  // namespace kiln::runtime
