#pragma once
// CachePointOp<T>: where a persisted dataset's records pass in a task pipeline. It is
// a segment boundary (see ops_narrow.h) that the task runner drives one partition of
// the dataset at a time: if this executor holds the partition's block (in memory or on
// disk), Replay pushes the cached records downstream and the operators that compute
// the partition never run; otherwise the partition is computed from its lineage and
// the records are copied into a new block on their way through, stored when the
// partition is complete (Spark's getOrElseUpdate).
//
// Storage levels, as Spark's: MEMORY_ONLY keeps records in memory and passes a
// partition that does not fit through uncached; MEMORY_AND_DISK writes such a
// partition to disk instead, and its in-memory blocks go to disk when evicted;
// DISK_ONLY writes every partition to disk (encoded, framed, checksummed). Stores,
// spills and evictions are reported to the driver through the task's block updates.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/codec.h"
#include "common/logging.h"
#include "common/memory_size.h"
#include "common/strings.h"
#include "runtime/block_store.h"
#include "runtime/operator.h"
#include "runtime/ops_narrow.h"
#include "runtime/storage_level.h"
#include "runtime/task_memory.h"

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

// A cached partition in memory: the records in the batches they arrived in (no
// reallocation while it grows; replayed batch by batch).
// The parameters of a cache point (CachePointOp::EncodeParams): its dataset and level;
// false when they are corrupt.
inline bool DecodeCachePointParams(std::string_view params, int* dataset, StorageLevel* level) {
  Reader reader(params);
  *dataset = static_cast<int>(reader.GetVarint());
  const uint64_t raw = reader.GetVarint();
  if (!reader.ok() || raw > static_cast<uint64_t>(StorageLevel::kDiskOnly)) return false;
  *level = static_cast<StorageLevel>(raw);
  return true;
}

template <class T>
struct CachedBlock {
  std::vector<std::vector<T>> chunks;
};

// Caching problems warn at most every 10 s (process-wide); in between, they go to
// debug. A dataset that does not fit would otherwise warn once per partition.
inline RateLimitedWarning cache_warnings;

inline void AddBlockUpdate(TaskContext& ctx, BlockId id, bool stored, bool disk, int64_t bytes) {
  ctx.block_updates.push_back(BlockUpdate{.dataset = id.dataset,
                                          .partition = id.partition,
                                          .stored = stored,
                                          .disk = disk,
                                          .bytes = bytes});
}

template <class T>
class CachePointOp final : public Consumer<T>, public Producer<T>, public CacheBoundary {
 public:
  static std::string EncodeParams(int dataset, StorageLevel level) {
    std::string params;
    Writer w(&params);
    w.PutVarint(static_cast<uint64_t>(dataset));
    w.PutVarint(static_cast<uint64_t>(level));
    return params;
  }
  static absl::StatusOr<std::unique_ptr<OpBase>> Create(std::string_view, std::string_view params) {
    int dataset = 0;
    StorageLevel level = StorageLevel::kMemoryOnly;
    if (!DecodeCachePointParams(params, &dataset, &level)) {
      return absl::DataLossError("cache point: corrupt parameters");
    }
    return std::unique_ptr<OpBase>(std::make_unique<CachePointOp>(dataset, level));
  }

  CachePointOp(int dataset, StorageLevel level) : dataset_(dataset), level_(level) {}
  ~CachePointOp() override { GiveUp(); }

  absl::Status Open(TaskContext& ctx) override {
    store_ = ctx.blocks;
    ctx_ = &ctx;
    return absl::OkStatus();
  }

  void BeginPartition(int partition) override {
    GiveUp();
    partition_ = partition;
    if (store_ == nullptr) return;
    if (level_ == StorageLevel::kDiskOnly && store_->has_disk()) {
      mode_ = Mode::kDisk;  // the file is created by the first write, if replay misses
    } else {
      block_ = std::make_shared<CachedBlock<T>>();
      mode_ = Mode::kMemory;
    }
  }

  absl::StatusOr<bool> Replay(TaskContext& ctx) override {
    if (store_ == nullptr) return false;
    if (auto block = std::static_pointer_cast<const CachedBlock<T>>(store_->Get(Id()))) {
      GiveUp();  // nothing to build
      std::vector<T> batch;
      for (const std::vector<T>& chunk : block->chunks) {
        batch.assign(chunk.begin(), chunk.end());
        CountRead(ctx, chunk.size());
        absl::Status s = this->next_->Push(batch);
        if (!s.ok()) return s;
      }
      return true;
    }
    if (level_ == StorageLevel::kMemoryOnly || !store_->OnDisk(Id())) return false;
    GiveUp();
    absl::StatusOr<bool> replayed = ReplayDisk(ctx);
    if (replayed.ok() && !*replayed) BeginPartition(partition_);  // compute it after all
    return replayed;
  }

  absl::Status Push(std::vector<T>& batch) override {
    if (mode_ == Mode::kMemory) {
      Keep(batch, *ctx_);  // may move the block, this batch included, to disk
    } else if (mode_ == Mode::kDisk) {
      WriteDisk(batch);
    }
    return this->next_->Push(batch);
  }

  // The end of one partition of the persisted dataset: store its block.
  absl::Status Finish(TaskContext& ctx) override {
    if (mode_ == Mode::kDisk) {
      if (!OpenDisk()) return absl::OkStatus();  // an empty partition
      absl::StatusOr<int64_t> bytes = disk_->Commit();
      if (!bytes.ok()) {
        StopDisk(bytes.status());
        return absl::OkStatus();
      }
      mode_ = Mode::kNone;
      disk_.reset();
      store_->AddDisk(Id(), *bytes);
      AddBlockUpdate(ctx, Id(), true, true, *bytes);
      return absl::OkStatus();
    }
    if (mode_ != Mode::kMemory) return absl::OkStatus();
    int64_t bytes = Bytes();
    if (bytes > reserved_ && !ReserveMore(bytes - reserved_, ctx)) {
      GiveUp();
      return absl::OkStatus();
    }
    mode_ = Mode::kNone;
    store_->Release(reserved_ - bytes);
    reserved_ = 0;
    SpillFn spill;
    if (level_ == StorageLevel::kMemoryAndDisk && store_->has_disk()) {
      BlockStore* store = store_;
      spill = [store](BlockId id, const std::shared_ptr<const void>& data) {
        return SpillToDisk(store, id, data);
      };
    }
    store_->Put(Id(), std::move(block_), bytes, std::move(spill));
    AddBlockUpdate(ctx, Id(), true, false, bytes);
    return absl::OkStatus();
  }

  absl::Status FinishDownstream(TaskContext& ctx) override { return this->next_->Finish(ctx); }

 private:
  enum class Mode { kNone, kMemory, kDisk };

  BlockId Id() const { return BlockId{dataset_, partition_}; }
  int64_t Bytes() const { return static_cast<int64_t>(heap_bytes_ + chunk_bytes_); }

  static void CountRead(TaskContext& ctx, size_t records) {
    ctx.metrics.records_read += static_cast<int64_t>(records);
  }

  static absl::Status Encode(DiskBlockWriter& disk, const T& x) {
    Writer w(disk.buffer());
    ::kiln::Encode(w, x);
    return disk.Appended();
  }

  // An evicted MEMORY_AND_DISK block, written to disk by the task that evicts it.
  static bool SpillToDisk(BlockStore* store, BlockId id, const std::shared_ptr<const void>& data) {
    auto block = std::static_pointer_cast<const CachedBlock<T>>(data);
    DiskBlockWriter disk(store->DiskPath(id));
    for (const std::vector<T>& chunk : block->chunks) {
      for (const T& x : chunk) {
        if (!Encode(disk, x).ok()) return false;
      }
    }
    absl::StatusOr<int64_t> bytes = disk.Commit();
    if (!bytes.ok()) {
      cache_warnings.Log(StrCat("cannot spill ", id.Name(),
                                " to disk, it is dropped: ", View(bytes.status().message())));
      return false;
    }
    store->AddDisk(id, *bytes);
    return true;
  }

  // A block file that cannot be read is dropped, so that the task's next attempt
  // computes the partition again.
  absl::StatusOr<bool> ReplayDisk(TaskContext& ctx) {
    int64_t pushed = 0;
    absl::Status s = PushDiskBlock(ctx, &pushed);
    if (s.ok()) return true;
    cache_warnings.Log(
        StrCat("cannot read cached block ", Id().Name(),
               ", it is dropped and its partition computed again: ", View(s.message())));
    store_->DropDisk(Id());
    if (pushed == 0) return false;  // nothing went downstream yet: compute it here
    return s;
  }

  // Decodes the block into batches (BatchEmitter: they end at kBatchBytes too, and each
  // record decodes into one the consumer is done with). `pushed`: the records handed
  // downstream, which are those it counts as read.
  absl::Status PushDiskBlock(TaskContext& ctx, int64_t* pushed) {
    BatchEmitter<T> out(&this->next_);
    T record{};
    int64_t emitted = 0;
    auto on_frame = [&](std::string_view frame) -> absl::Status {
      Reader r(frame);
      while (!r.done()) {
        const size_t left = r.remaining();
        Decode(r, record);
        if (!r.ok()) {
          return absl::DataLossError(StrCat("corrupt record in cached block ", Id().Name()));
        }
        ++emitted;
        absl::Status next = out.EmitSwap(record, left - r.remaining());
        if (!next.ok()) return next;
      }
      return absl::OkStatus();
    };
    absl::Status s = ReadDiskBlock(store_->DiskPath(Id()), on_frame);
    if (s.ok()) s = out.Flush();
    // A batch leaves the emitter when it is pushed, whether the push succeeds or not.
    *pushed = emitted - static_cast<int64_t>(out.batch().size());
    CountRead(ctx, static_cast<size_t>(*pushed));
    return s;
  }

  // The disk block being written, created on first use; false (and caching stopped)
  // when it cannot be.
  bool OpenDisk() {
    if (disk_ == nullptr) disk_ = std::make_unique<DiskBlockWriter>(store_->DiskPath(Id()));
    if (disk_->status().ok()) return true;
    StopDisk(disk_->status());
    return false;
  }

  // A disk error stops caching this partition; the task goes on (its records are fine).
  void StopDisk(const absl::Status& error) {
    cache_warnings.Log(StrCat("task=", ctx_->task_id, " cannot cache ", Id().Name(),
                              " on disk, it is not cached: ", View(error.message())));
    GiveUp();
  }

  void WriteDisk(const std::vector<T>& batch) {
    if (!OpenDisk()) return;
    for (const T& x : batch) {
      absl::Status s = Encode(*disk_, x);
      if (!s.ok()) return StopDisk(s);
    }
  }

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
    if (ReserveMore(step, ctx) || ReserveMore(grown, ctx)) return;
    if (level_ == StorageLevel::kMemoryAndDisk && store_->has_disk()) {
      if (LogEnabled(LogLevel::kDebug)) {
        Log(LogLevel::kDebug, StrCat("task=", ctx.task_id, " ", Id().Name(),
                                     " does not fit in storage memory; writing it to disk"));
      }
      MoveToDisk();
      return;
    }
    const MemorySnapshot memory = store_->memory()->Snapshot();
    cache_warnings.Log(StrCat("task=", ctx.task_id, " not enough storage memory to cache ",
                              Id().Name(), " (", Bytes(), " bytes so far; of ", memory.managed,
                              " bytes managed, cached blocks hold ", memory.storage_used,
                              " and tasks ", memory.execution_used,
                              "); the partition is not cached"));
    GiveUp();
  }

  // MEMORY_AND_DISK past the memory budget: the records so far go to a disk block,
  // and so will the rest.
  void MoveToDisk() {
    std::shared_ptr<CachedBlock<T>> block = std::move(block_);
    GiveUp();
    mode_ = Mode::kDisk;
    for (const std::vector<T>& chunk : block->chunks) {
      WriteDisk(chunk);
      if (mode_ != Mode::kDisk) return;  // a disk error stopped caching
    }
  }

  bool ReserveMore(int64_t bytes, TaskContext& ctx) {
    std::vector<Evicted> evicted;
    if (!store_->Reserve(dataset_, bytes, &evicted)) return false;
    reserved_ += bytes;
    HandleEvicted(evicted, ctx);
    return true;
  }

  // Stops building the current block and returns its reservation.
  void GiveUp() {
    mode_ = Mode::kNone;
    if (reserved_ > 0) store_->Release(reserved_);
    reserved_ = 0;
    block_.reset();
    disk_.reset();
    heap_bytes_ = 0;
    chunk_bytes_ = 0;
  }

  const int dataset_;
  const StorageLevel level_;
  BlockStore* store_ = nullptr;
  TaskContext* ctx_ = nullptr;
  int partition_ = 0;
  Mode mode_ = Mode::kNone;
  std::shared_ptr<CachedBlock<T>> block_;
  std::unique_ptr<DiskBlockWriter> disk_;
  size_t heap_bytes_ = 0;   // heap owned by the records
  size_t chunk_bytes_ = 0;  // the chunks' arrays and headers
  int64_t reserved_ = 0;
};

}  // namespace kiln::runtime
