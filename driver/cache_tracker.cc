#include "driver/cache_tracker.h"

#include <algorithm>

namespace kiln::internal {

bool CacheTracker::Persist(int dataset, int num_partitions, runtime::OpSpec cache_op) {
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = datasets_.try_emplace(dataset);
  if (!inserted) return it->second.cache_op == cache_op;
  it->second.cache_op = std::move(cache_op);
  it->second.holders.resize(static_cast<size_t>(num_partitions));
  return true;
}

bool CacheTracker::Unpersist(int dataset) {
  absl::MutexLock lock(&mu_);
  return datasets_.erase(dataset) > 0;
}

std::optional<runtime::OpSpec> CacheTracker::CacheOp(int dataset) const {
  absl::MutexLock lock(&mu_);
  auto it = datasets_.find(dataset);
  if (it == datasets_.end()) return std::nullopt;
  return it->second.cache_op;
}

void CacheTracker::Update(const std::string& executor_id, const proto::BlockUpdate& update) {
  absl::MutexLock lock(&mu_);
  auto it = datasets_.find(update.dataset());
  if (it == datasets_.end()) return;  // unpersisted since
  auto& holders = it->second.holders;
  if (update.partition() < 0 || static_cast<size_t>(update.partition()) >= holders.size()) return;
  std::vector<std::string>& at = holders[static_cast<size_t>(update.partition())];
  auto found = std::find(at.begin(), at.end(), executor_id);
  if (update.stored() && found == at.end()) at.push_back(executor_id);
  if (!update.stored() && found != at.end()) at.erase(found);
}

void CacheTracker::RemoveExecutor(const std::string& executor_id) {
  absl::MutexLock lock(&mu_);
  for (auto& [id, dataset] : datasets_) {
    for (std::vector<std::string>& at : dataset.holders) {
      at.erase(std::remove(at.begin(), at.end(), executor_id), at.end());
    }
  }
}

absl::flat_hash_set<std::string> CacheTracker::Holders() const {
  absl::MutexLock lock(&mu_);
  absl::flat_hash_set<std::string> out;
  for (const auto& [id, dataset] : datasets_) {
    for (const std::vector<std::string>& at : dataset.holders) out.insert(at.begin(), at.end());
  }
  return out;
}

std::vector<std::string> CacheTracker::Locations(int dataset, int partition) const {
  absl::MutexLock lock(&mu_);
  auto it = datasets_.find(dataset);
  if (it == datasets_.end() || partition < 0 ||
      static_cast<size_t>(partition) >= it->second.holders.size()) {
    return {};
  }
  return it->second.holders[static_cast<size_t>(partition)];
}

int CacheTracker::CachedPartitions(int dataset) const {
  absl::MutexLock lock(&mu_);
  auto it = datasets_.find(dataset);
  if (it == datasets_.end()) return 0;
  return static_cast<int>(std::count_if(it->second.holders.begin(), it->second.holders.end(),
                                        [](const auto& at) { return !at.empty(); }));
}

}  // namespace kiln::internal
