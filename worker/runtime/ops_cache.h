#pragma once
// CachePointOp<T>: where a persisted dataset's records pass in a task pipeline. It is
// a segment boundary (see ops_narrow.h) that the task runner drives one partition of
// the dataset at a time: if this executor holds the partition's block, Replay pushes
// the cached records downstream and the operators that compute the partition never
// run; otherwise the partition is computed from its lineage and the records are
// copied into a new block on their way through, stored when the partition is
// complete (Spark's getOrElseUpdate). A partition that does not fit the storage
// budget is passed through uncached. Stores and evictions are reported to the driver
// through the task's block updates.

#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/codec.h"
#include "common/memory_size.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"
#include "worker/runtime/block_store.h"
#include "worker/runtime/operator.h"
#include "worker/runtime/ops_narrow.h"

namespace kiln::runtime {

// The task runner's view of a CachePointOp: which partition flows next, and replay.
class CacheBoundary : public SegmentBoundary {
 public:
  // The partition of the persisted dataset that the next records belong to.
  virtual void BeginPartition(int partition) = 0;
  // Pushes the cached block of the current partition downstream; false when this
  // executor does not hold it (then the partition is computed and cached).
  virtual absl::StatusOr<bool> Replay(TaskContext& ctx) = 0;
};

// A cached partition: the records in the batches they arrived in (no reallocation
// while it grows; replayed batch by batch).
template <class T>
struct CachedBlock {
  std::vector<std::vector<T>> chunks;
};

template <class T>
class CachePointOp final : public Consumer<T>, public Producer<T>, public CacheBoundary {
 public:
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view, std::string_view params) {
    Reader reader(params);
    int dataset = static_cast<int>(reader.GetVarint());
    if (!reader.ok()) return absl::InternalError("cache point: corrupt parameters");
    return std::unique_ptr<OpBase>(std::make_unique<CachePointOp>(dataset));
  }

  explicit CachePointOp(int dataset) : dataset_(dataset) {}
  ~CachePointOp() override { GiveUp(); }

  absl::Status Open(TaskContext& ctx) override {
    store_ = ctx.blocks;
    ctx_ = &ctx;
    return absl::OkStatus();
  }

  void BeginPartition(int partition) override {
    GiveUp();
    partition_ = partition;
    caching_ = store_ != nullptr;
    block_ = std::make_shared<CachedBlock<T>>();
    heap_bytes_ = 0;
  }

  absl::StatusOr<bool> Replay(TaskContext& ctx) override {
    if (store_ == nullptr) return false;
    auto block = std::static_pointer_cast<const CachedBlock<T>>(store_->Get(Id()));
    if (block == nullptr) return false;
    GiveUp();  // nothing to build
    std::vector<T> batch;
    for (const std::vector<T>& chunk : block->chunks) {
      batch.assign(chunk.begin(), chunk.end());
      ctx.metrics.set_records_read(ctx.metrics.records_read() + static_cast<int64_t>(chunk.size()));
      absl::Status s = this->next_->Push(batch);
      if (!s.ok()) return s;
    }
    return true;
  }

  absl::Status Push(std::vector<T>& batch) override {
    if (caching_) Keep(batch, *ctx_);
    return this->next_->Push(batch);
  }

  // The end of one partition of the persisted dataset: store its block.
  absl::Status Finish(TaskContext& ctx) override {
    if (!caching_) return absl::OkStatus();
    int64_t bytes = Bytes();
    if (bytes > reserved_ && !ReserveMore(bytes - reserved_, ctx)) {
      GiveUp();
      return absl::OkStatus();
    }
    caching_ = false;
    store_->Release(reserved_ - bytes);
    reserved_ = 0;
    store_->Put(Id(), std::move(block_), bytes);
    proto::BlockUpdate* update = &ctx.block_updates.emplace_back();
    update->set_dataset(dataset_);
    update->set_partition(partition_);
    update->set_stored(true);
    update->set_bytes(bytes);
    return absl::OkStatus();
  }

  absl::Status FinishDownstream(TaskContext& ctx) override { return this->next_->Finish(ctx); }

 private:
  BlockId Id() const { return BlockId{dataset_, partition_}; }

  int64_t Bytes() const { return static_cast<int64_t>(heap_bytes_ + chunk_bytes_); }

  void Keep(const std::vector<T>& batch, TaskContext& ctx) {
    std::vector<T>& chunk = block_->chunks.emplace_back(batch.begin(), batch.end());
    if constexpr (!std::is_trivially_copyable_v<T>) {
      for (const T& x : chunk) heap_bytes_ += HeapBytes<T>::Of(x);
    }
    chunk_bytes_ += chunk.capacity() * sizeof(T) + sizeof(std::vector<T>);
    const int64_t grown = Bytes() - reserved_;
    if (grown <= 0) return;
    // Reserve ahead in steps (1 MiB, or an eighth of the block so far), not per batch.
    int64_t step = std::max<int64_t>(grown, std::max<int64_t>(1 << 20, reserved_ / 8));
    if (!ReserveMore(step, ctx) && !ReserveMore(grown, ctx)) {
      spdlog::warn("task={} not enough storage memory to cache {} ({} bytes so far, {} of {} "
                   "bytes in use); the partition is not cached",
                   ctx.task_id, Id().Name(), Bytes(), store_->used(),
                   store_->capacity());
      GiveUp();
    }
  }

  bool ReserveMore(int64_t bytes, TaskContext& ctx) {
    std::vector<BlockId> evicted;
    if (!store_->Reserve(dataset_, bytes, &evicted)) return false;
    reserved_ += bytes;
    for (const BlockId& id : evicted) {
      proto::BlockUpdate* update = &ctx.block_updates.emplace_back();
      update->set_dataset(id.dataset);
      update->set_partition(id.partition);
      update->set_stored(false);
      spdlog::debug("task={} evicted {} to cache {}", ctx.task_id, id.Name(), Id().Name());
    }
    return true;
  }

  // Stops building the current block and returns its reservation.
  void GiveUp() {
    caching_ = false;
    if (reserved_ > 0) store_->Release(reserved_);
    reserved_ = 0;
    block_.reset();
    heap_bytes_ = 0;
    chunk_bytes_ = 0;
  }

  const int dataset_;
  BlockStore* store_ = nullptr;
  TaskContext* ctx_ = nullptr;
  int partition_ = 0;
  bool caching_ = false;
  std::shared_ptr<CachedBlock<T>> block_;
  size_t heap_bytes_ = 0;   // heap owned by the records
  size_t chunk_bytes_ = 0;  // the chunks' arrays and headers
  int64_t reserved_ = 0;
};

}  // namespace kiln::runtime
