#pragma once
// CacheTracker: the driver's view of cached datasets (Spark's BlockManagerMaster):
// which datasets are persisted, the operator that caches each one, and which
// executors hold each cached partition, as the executors report in their task
// statuses. The view may be stale (an executor evicts a block between two reports);
// that costs a recomputation, never a wrong result, since a task whose block is gone
// recomputes it from its lineage. Thread-safe.

#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "proto/task.pb.h"
#include "runtime/op_registry.h"

namespace kiln::internal {

class CacheTracker {
 public:
  // Marks a dataset persisted; `cache_op` is its cache point operator. Idempotent;
  // false (and no change) when it is persisted with another operator (storage level).
  bool Persist(int dataset, int num_partitions, runtime::OpSpec cache_op);
  // Forgets a persisted dataset and its blocks; false when it was not persisted.
  bool Unpersist(int dataset);
  // The cache point operator of a persisted dataset.
  std::optional<runtime::OpSpec> CacheOp(int dataset) const;

  // A block stored on, or evicted from, an executor.
  void Update(const std::string& executor_id, const proto::BlockUpdate& update);
  // Forgets every block of a lost executor.
  void RemoveExecutor(const std::string& executor_id);

  // The executors holding a partition, in the order they cached it.
  std::vector<std::string> Locations(int dataset, int partition) const;
  // How many partitions of the dataset are cached somewhere.
  int CachedPartitions(int dataset) const;
  // The executors holding a cached partition of any dataset.
  absl::flat_hash_set<std::string> Holders() const;

 private:
  struct Dataset {
    runtime::OpSpec cache_op;
    std::vector<std::vector<std::string>> holders;  // per partition
  };
  mutable absl::Mutex mu_;
  absl::flat_hash_map<int, Dataset> datasets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kiln::internal
