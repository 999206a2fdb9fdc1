#pragma once
// BlockStore: the partitions of persisted datasets that an executor keeps in memory
// ("blocks", named rdd_<dataset>_<partition> as in Spark), in the storage memory of its
// MemoryManager.
//
// A task that computes a persisted partition reserves memory as the block grows
// ("unrolling", as Spark calls it) and stores it when complete; when a reservation
// does not fit, the least recently used blocks of *other* datasets are evicted (never
// one of the same dataset, which would only make the dataset evict itself in a cycle,
// and never a block a task is reading right now). If even that cannot make room,
// nothing is evicted and the caller gives up caching that partition: it is recomputed
// from its lineage when needed, as Spark's MEMORY_ONLY does.
//
// Blocks are type-erased (shared_ptr<const void>): every block of one dataset holds
// the same C++ type, known to the operator that stores and reads it. A reader keeps
// its block alive while it holds the pointer.
//
// Blocks of the disk storage levels are files of framed, encoded records under the
// store's directory (registered once complete). An in-memory block stored with a spill
// function (MEMORY_AND_DISK) is written to disk by whoever evicts it (a task caching
// another block, or a task that needs execution memory), instead of being dropped.
// Thread-safe; no file is touched with the lock held. Lock order: the memory
// manager's lock, then the store's.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/files.h"
#include "runtime/block_format.h"
#include "runtime/block_id.h"
#include "runtime/memory_manager.h"

namespace kiln::runtime {

// The storage budget is the executor's MemoryManager (memory_manager.h): blocks may use
// all managed memory that running tasks do not hold, and tasks reclaim what is above
// the storage region by evicting blocks through this store.

// Disk block files: framed (block_format.h, uncompressed as Spark's spark.rdd.compress
// defaults to false) encoded records, written to a temporary file of this writer's own
// (two writers of one block never meet) and renamed to `path` on Commit.
class DiskBlockWriter {
 public:
  explicit DiskBlockWriter(std::string path);
  // Whether the temporary file could be created.
  const absl::Status& status() const { return open_; }
  ~DiskBlockWriter();  // removes an uncommitted file
  DiskBlockWriter(const DiskBlockWriter&) = delete;
  DiskBlockWriter& operator=(const DiskBlockWriter&) = delete;

  // A buffer to encode records into; call Appended() after each record.
  std::string* buffer() { return &raw_; }
  absl::Status Appended() { return raw_.size() >= kDefaultFrameBytes ? Flush() : absl::OkStatus(); }
  // Flushes, closes and renames; the file's size in bytes.
  absl::StatusOr<int64_t> Commit();

 private:
  absl::Status Flush();

  std::string path_;
  std::string temp_;
  ScopedFd fd_;
  absl::Status open_;
  std::string raw_;
  std::string framed_;
  int64_t bytes_ = 0;
  bool committed_ = false;
};

// Feeds every frame of a disk block file to `on_frame`.
absl::Status ReadDiskBlock(const std::string& path, FrameCallback on_frame);

class BlockStore final : public StorageEvictor {
 public:
  // `memory` (outliving the store) accounts for the blocks' bytes; `disk_dir` holds the
  // files of disk blocks ("" = no disk levels).
  explicit BlockStore(MemoryManager* memory, std::string disk_dir = "");
  ~BlockStore() override;
  BlockStore(const BlockStore&) = delete;
  BlockStore& operator=(const BlockStore&) = delete;

  // The block, or null when this executor does not hold it in memory. Marks it most
  // recently used.
  std::shared_ptr<const void> Get(BlockId id);

  // Reserves `bytes` more for a block of `dataset` being built, evicting blocks of other
  // datasets (appended to `evicted`; the caller spills those that have a spill
  // function) if needed. False, with nothing evicted or reserved, when storage cannot
  // hold it.
  bool Reserve(int dataset, int64_t bytes, std::vector<Evicted>* evicted);
  // Returns reserved bytes (a block given up, or reserved beyond its final size).
  void Release(int64_t bytes);
  // Stores a complete block of `bytes`, all of them reserved before by the caller (the
  // reservation becomes the block's). Replaces a copy stored by an earlier attempt.
  // `spill` (may be empty) writes it to disk when it is evicted.
  void Put(BlockId id, std::shared_ptr<const void> data, int64_t bytes, SpillFn spill = {});

  // Disk blocks. DiskPath is where a block's file goes (write it under another name
  // and rename it there); AddDisk registers it once complete.
  bool has_disk() const { return !disk_dir_.empty(); }
  std::string DiskPath(BlockId id) const;
  void AddDisk(BlockId id, int64_t bytes);
  bool OnDisk(BlockId id) const;
  // Forgets a disk block and deletes its file (found unreadable).
  void DropDisk(BlockId id);

  // Drops every block of `dataset` (unpersist), in memory and on disk; returns how many.
  int RemoveDataset(int dataset);

  // StorageEvictor, for the memory manager.
  int64_t Evict(int64_t bytes, int keep_dataset, bool all_or_nothing,
                std::vector<Evicted>* evicted) override;

  MemoryManager* memory() const { return memory_; }
  int64_t used() const;        // bytes of stored blocks
  int64_t reserved() const;    // bytes reserved by blocks being built
  size_t size() const;         // stored blocks in memory
  int64_t disk_bytes() const;  // bytes of disk blocks

 private:
  struct State;  // the blocks, under a mutex (block_store.cc)

  MemoryManager* const memory_;
  const std::string disk_dir_;
  const std::unique_ptr<State> state_;
};

}  // namespace kiln::runtime
