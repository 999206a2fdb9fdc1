#include "driver/map_output_tracker.h"

namespace kiln::internal {

void MapOutputTracker::Register(int shuffle_id, int num_maps, int map_id,
                                const runtime::MapLocation& location) {
  absl::MutexLock lock(&mu_);
  auto& maps = outputs_[shuffle_id];
  if (static_cast<int>(maps.size()) < num_maps) maps.resize(num_maps);
  maps[map_id] = location;
}

std::vector<int> MapOutputTracker::Missing(int shuffle_id, int num_maps) const {
  absl::MutexLock lock(&mu_);
  std::vector<int> missing;
  auto it = outputs_.find(shuffle_id);
  for (int m = 0; m < num_maps; ++m) {
    if (it == outputs_.end() || m >= static_cast<int>(it->second.size()) ||
        !it->second[m].has_value()) {
      missing.push_back(m);
    }
  }
  return missing;
}

runtime::ShuffleReadParams MapOutputTracker::Locations(int shuffle_id, int num_maps) const {
  absl::MutexLock lock(&mu_);
  runtime::ShuffleReadParams params{.shuffle_id = shuffle_id, .num_maps = num_maps};
  auto it = outputs_.find(shuffle_id);
  if (it == outputs_.end()) return params;
  for (const auto& location : it->second) {
    if (location) params.maps.push_back(*location);
  }
  return params;
}

int MapOutputTracker::MarkLost(int shuffle_id, int map_id, const std::string& address) {
  absl::MutexLock lock(&mu_);
  int dropped = 0;
  for (auto& [id, maps] : outputs_) {
    for (size_t m = 0; m < maps.size(); ++m) {
      if (!maps[m]) continue;
      bool same_output = id == shuffle_id && static_cast<int>(m) == map_id;
      bool same_worker = !address.empty() && maps[m]->address == address;
      if (same_output || same_worker) {
        maps[m].reset();
        ++dropped;
      }
    }
  }
  return dropped;
}

}  // namespace kiln::internal
