#include "runtime/memory_manager.h"

#include <algorithm>

#include "common/check.h"
#include "common/settings.h"

namespace kiln::runtime {

int64_t ManagedMemory(int64_t process_bytes, double fraction) {
  constexpr int64_t kReserved = kReservedMemoryMb << 20;
  if (process_bytes <= kReserved) return 0;
  return static_cast<int64_t>(static_cast<double>(process_bytes - kReserved) * fraction);
}

MemoryManager::MemoryManager(int64_t managed_bytes, double storage_fraction)
    : managed_(std::max<int64_t>(managed_bytes, 0)),
      storage_region_(static_cast<int64_t>(static_cast<double>(managed_) * storage_fraction)) {}

void MemoryManager::SetEvictor(StorageEvictor* evictor) {
  absl::MutexLock lock(&mu_);
  evictor_ = evictor;
}

bool MemoryManager::AcquireStorage(int64_t bytes, int dataset, std::vector<Evicted>* evicted) {
  KILN_CHECK(bytes >= 0);
  absl::MutexLock lock(&mu_);
  if (bytes > managed_ - execution_used_) return false;  // storage never takes execution's
  const int64_t shortfall = bytes - FreeLocked();
  if (shortfall > 0) {
    if (evictor_ == nullptr) return false;
    const int64_t freed = evictor_->Evict(shortfall, dataset, /*all_or_nothing=*/true, evicted);
    storage_used_ -= freed;
    if (freed < shortfall) return false;
  }
  storage_used_ += bytes;
  return true;
}

void MemoryManager::ReleaseStorage(int64_t bytes) {
  absl::MutexLock lock(&mu_);
  KILN_CHECK(bytes >= 0 && bytes <= storage_used_);
  storage_used_ -= bytes;
  released_.SignalAll();
}

int64_t MemoryManager::AcquireExecution(int64_t task_id, int64_t bytes,
                                        std::vector<Evicted>* evicted) {
  KILN_CHECK(bytes >= 0);
  absl::MutexLock lock(&mu_);
  if (execution_by_task_.try_emplace(task_id, 0).second) {
    released_.SignalAll();  // one more task: the others' guaranteed shares shrink
  }
  while (true) {
    const int64_t n = static_cast<int64_t>(execution_by_task_.size());
    const int64_t held = execution_by_task_[task_id];
    // Blocks above the storage region give way to execution (whole blocks, least
    // recently used first; Spark's rule).
    const int64_t lacking = bytes - FreeLocked();
    const int64_t reclaimable = storage_used_ - storage_region_;
    if (lacking > 0 && reclaimable > 0 && evictor_ != nullptr) {
      storage_used_ -= evictor_->Evict(std::min(lacking, reclaimable), /*keep_dataset=*/-1,
                                       /*all_or_nothing=*/false, evicted);
    }
    const int64_t max_pool = managed_ - std::min(storage_used_, storage_region_);
    const int64_t pool = managed_ - storage_used_;
    const int64_t max_per_task = max_pool / n;
    const int64_t min_per_task = pool / (2 * n);
    const int64_t grant = std::min(
        {bytes, std::max<int64_t>(0, max_per_task - held), std::max<int64_t>(0, FreeLocked())});
    if (grant < bytes && held + grant < min_per_task) {
      ++waiting_;  // below its guaranteed share: other tasks will release
      released_.Wait(&mu_);
      --waiting_;
      continue;
    }
    execution_by_task_[task_id] = held + grant;
    execution_used_ += grant;
    return grant;
  }
}

void MemoryManager::ReleaseExecution(int64_t task_id, int64_t bytes) {
  absl::MutexLock lock(&mu_);
  auto it = execution_by_task_.find(task_id);
  KILN_CHECK(it != execution_by_task_.end() && bytes >= 0 && bytes <= it->second);
  it->second -= bytes;
  execution_used_ -= bytes;
  released_.SignalAll();
}

int64_t MemoryManager::ReleaseAllExecution(int64_t task_id) {
  absl::MutexLock lock(&mu_);
  auto it = execution_by_task_.find(task_id);
  if (it == execution_by_task_.end()) return 0;
  const int64_t held = it->second;
  execution_used_ -= held;
  execution_by_task_.erase(it);
  released_.SignalAll();
  return held;
}

int64_t MemoryManager::execution_held(int64_t task_id) const {
  absl::MutexLock lock(&mu_);
  auto it = execution_by_task_.find(task_id);
  return it == execution_by_task_.end() ? 0 : it->second;
}

MemorySnapshot MemoryManager::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return MemorySnapshot{.managed = managed_,
                        .storage_region = storage_region_,
                        .storage_used = storage_used_,
                        .execution_used = execution_used_,
                        .active_tasks = static_cast<int>(execution_by_task_.size()),
                        .waiting_tasks = waiting_};
}

}  // namespace kiln::runtime
