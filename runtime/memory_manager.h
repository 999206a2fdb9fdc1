#pragma once
// MemoryManager: the memory one executor (or a local-mode driver) manages, shared by
// execution (the buffers of running tasks: combine maps, sort buffers, join tables) and
// storage (cached blocks), as Spark's UnifiedMemoryManager shares it:
//
//   managed          = (process memory - 300 MiB reserved) * kiln.memory.fraction
//   storage region   = managed * kiln.memory.storageFraction
//
// - Storage may use all managed memory that execution does not hold. When a block needs
//   room, storage evicts other cached blocks (least recently used first, see
//   BlockStore), never execution memory.
// - Execution may use all managed memory that storage does not hold, and evicts cached
//   blocks to get more, but only down to the storage region: blocks within it are safe
//   from execution.
// - Each running task may hold at most 1/N of the memory execution can have (N = tasks
//   holding or asking for execution memory), and is guaranteed 1/(2N) of it: a task
//   below that share waits for other tasks to release memory rather than being refused.
//   A task above it is granted what is free, possibly less than asked, and spills.
//
// All counts are bytes that tasks and blocks say they hold. Thread-safe. Lock order:
// the manager's mutex before the evictor's (the evictor is called with it held and
// must not call back).

#include <cstdint>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "runtime/block_id.h"

namespace kiln::runtime {

// Managed memory of a process with `process_bytes` of memory (0 below the reserve).
int64_t ManagedMemory(int64_t process_bytes, double fraction);

// Frees cached blocks for the memory manager (implemented by BlockStore).
class StorageEvictor {
 public:
  virtual ~StorageEvictor() = default;
  // Evicts unpinned blocks, least recently used first, skipping blocks of
  // `keep_dataset` (-1: none), until at least `bytes` are freed. With `all_or_nothing`,
  // evicts nothing unless that much can go. Appends what it evicted and returns the
  // bytes freed. Called with the manager's lock held.
  virtual int64_t Evict(int64_t bytes, int keep_dataset, bool all_or_nothing,
                        std::vector<Evicted>* evicted) = 0;
};

struct MemorySnapshot {
  int64_t managed = 0;
  int64_t storage_region = 0;
  int64_t storage_used = 0;    // reserved for blocks being built, and stored blocks
  int64_t execution_used = 0;  // held by tasks
  int active_tasks = 0;        // tasks holding or waiting for execution memory
  int waiting_tasks = 0;       // tasks waiting for their guaranteed share
};

class MemoryManager {
 public:
  MemoryManager(int64_t managed_bytes, double storage_fraction);
  MemoryManager(const MemoryManager&) = delete;
  MemoryManager& operator=(const MemoryManager&) = delete;

  // Set once by the block store (null to detach); without one nothing is evicted.
  void SetEvictor(StorageEvictor* evictor);

  // Storage: `bytes` more for a block of `dataset`, evicting blocks of other datasets
  // (appended to `evicted`: the caller spills or drops them) if free memory is short.
  // False, with nothing evicted, when that cannot make room.
  bool AcquireStorage(int64_t bytes, int dataset, std::vector<Evicted>* evicted);
  void ReleaseStorage(int64_t bytes);

  // Execution: up to `bytes` more for task `task_id`; returns what it granted (0 to
  // `bytes`). May evict cached blocks above the storage region (appended to
  // `evicted`), and may block until other tasks release memory (see above).
  int64_t AcquireExecution(int64_t task_id, int64_t bytes, std::vector<Evicted>* evicted);
  void ReleaseExecution(int64_t task_id, int64_t bytes);
  // The task ended: releases everything it holds and stops counting it. Returns what
  // it held.
  int64_t ReleaseAllExecution(int64_t task_id);

  int64_t managed() const { return managed_; }
  int64_t storage_region() const { return storage_region_; }
  int64_t execution_held(int64_t task_id) const;
  MemorySnapshot Snapshot() const;

 private:
  int64_t FreeLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return managed_ - storage_used_ - execution_used_;
  }

  const int64_t managed_;
  const int64_t storage_region_;
  mutable absl::Mutex mu_;
  absl::CondVar released_;  // signalled when execution memory is released
  StorageEvictor* evictor_ ABSL_GUARDED_BY(mu_) = nullptr;
  int64_t storage_used_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t execution_used_ ABSL_GUARDED_BY(mu_) = 0;
  int waiting_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<int64_t, int64_t> execution_by_task_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kiln::runtime
