#pragma once
// MapOutputTracker: where each map output of each shuffle lives, so that reduce tasks
// know where to fetch from and the DAG scheduler knows which map tasks to (re)run.
// Thread-safe.

#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "runtime/shuffle_params.h"

namespace kiln::internal {

class MapOutputTracker {
 public:
  void Register(int shuffle_id, int num_maps, int map_id, const runtime::MapLocation& location);
  // Map ids of `shuffle_id` without a live output, ascending.
  std::vector<int> Missing(int shuffle_id, int num_maps) const;
  // The location of every map output known (a reader fails to fetch the others).
  runtime::ShuffleReadParams Locations(int shuffle_id, int num_maps) const;
  // Forgets one output; with a non-empty address, every output served from that
  // address (the worker is presumably gone). Returns how many outputs were dropped.
  int MarkLost(int shuffle_id, int map_id, const std::string& address);

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<int, std::vector<std::optional<runtime::MapLocation>>> outputs_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace kiln::internal
