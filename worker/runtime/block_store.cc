#include "worker/runtime/block_store.h"

#include "common/check.h"
#include "common/strings.h"

namespace kiln::runtime {

int64_t StorageCapacity(int64_t memory_bytes, double fraction, double storage_fraction) {
  constexpr int64_t kReserved = 300LL << 20;
  if (memory_bytes <= kReserved) return 0;
  return static_cast<int64_t>(static_cast<double>(memory_bytes - kReserved) * fraction *
                              storage_fraction);
}

std::string BlockId::Name() const { return StrCat("rdd_", dataset, "_", partition); }

std::shared_ptr<const void> BlockStore::Get(BlockId id) {
  absl::MutexLock lock(&mu_);
  auto it = blocks_.find(id);
  if (it == blocks_.end()) return nullptr;
  lru_.splice(lru_.end(), lru_, it->second.lru);
  return it->second.data;
}

bool BlockStore::Reserve(int dataset, int64_t bytes, std::vector<BlockId>* evicted) {
  absl::MutexLock lock(&mu_);
  int64_t shortfall = used_ + reserved_ + bytes - capacity_;
  if (shortfall > 0) {
    // Evict only if enough can go: blocks of other datasets that nobody is reading.
    std::vector<BlockId> victims;
    int64_t freed = 0;
    for (const BlockId& id : lru_) {
      if (freed >= shortfall) break;
      const Entry& e = blocks_.at(id);
      if (id.dataset == dataset || e.data.use_count() > 1) continue;
      victims.push_back(id);
      freed += e.bytes;
    }
    if (freed < shortfall) return false;
    for (const BlockId& id : victims) {
      EraseLocked(blocks_.find(id));
      evicted->push_back(id);
    }
  }
  reserved_ += bytes;
  return true;
}

void BlockStore::Release(int64_t bytes) {
  absl::MutexLock lock(&mu_);
  KILN_CHECK(bytes <= reserved_);
  reserved_ -= bytes;
}

void BlockStore::Put(BlockId id, std::shared_ptr<const void> data, int64_t bytes) {
  absl::MutexLock lock(&mu_);
  KILN_CHECK(bytes <= reserved_);
  reserved_ -= bytes;
  auto old = blocks_.find(id);
  if (old != blocks_.end()) EraseLocked(old);
  lru_.push_back(id);
  blocks_[id] = Entry{std::move(data), bytes, std::prev(lru_.end())};
  used_ += bytes;
}

int BlockStore::RemoveDataset(int dataset) {
  absl::MutexLock lock(&mu_);
  int removed = 0;
  for (auto it = blocks_.begin(); it != blocks_.end();) {
    auto next = std::next(it);
    if (it->first.dataset == dataset) {
      EraseLocked(it);
      ++removed;
    }
    it = next;
  }
  return removed;
}

void BlockStore::EraseLocked(absl::flat_hash_map<BlockId, Entry>::iterator it) {
  used_ -= it->second.bytes;
  lru_.erase(it->second.lru);
  blocks_.erase(it);
}

int64_t BlockStore::used() const {
  absl::MutexLock lock(&mu_);
  return used_;
}

int64_t BlockStore::reserved() const {
  absl::MutexLock lock(&mu_);
  return reserved_;
}

size_t BlockStore::size() const {
  absl::MutexLock lock(&mu_);
  return blocks_.size();
}

}  // namespace kiln::runtime
