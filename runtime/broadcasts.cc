#include "runtime/broadcasts.h"

#include <chrono>
#include <stdexcept>

#include "common/strings.h"
#include "common/units.h"
#include "runtime/memory_manager.h"
#include "runtime/operator.h"
#include "runtime/task_memory.h"
#include "spdlog/spdlog.h"

namespace kiln::runtime {

BroadcastCache::BroadcastCache(BroadcastFetcher* fetcher, MemoryManager* memory)
    : fetcher_(fetcher), memory_(memory) {}

BroadcastCache::~BroadcastCache() {
  if (memory_ == nullptr) return;
  absl::MutexLock lock(&mu_);
  for (auto& [id, entry] : entries_) {
    if (entry->storage_bytes > 0) memory_->ReleaseStorage(entry->storage_bytes);
  }
}

absl::StatusOr<std::shared_ptr<const void>> BroadcastCache::Get(int64_t id, BroadcastDecoder decode,
                                                                TaskContext& ctx) {
  std::shared_ptr<Entry> entry;
  {
    absl::MutexLock lock(&mu_);
    while (true) {
      std::shared_ptr<Entry>& slot = entries_[id];
      if (slot == nullptr) slot = std::make_shared<Entry>();
      entry = slot;
      if (entry->value != nullptr) return entry->value;
      if (!entry->loading) break;
      // Another task fetches it: wait for that, then look again (it may have failed, or
      // been removed meanwhile).
      mu_.Await(absl::Condition(
          +[](Entry* e) { return !e->loading; }, entry.get()));
    }
    entry->loading = true;
  }
  int64_t storage = 0;
  absl::StatusOr<std::shared_ptr<const void>> value = Load(id, decode, ctx, &storage);
  bool kept = false;
  {
    absl::MutexLock lock(&mu_);
    entry->loading = false;
    auto it = entries_.find(id);
    const bool current = it != entries_.end() && it->second == entry;
    if (current && value.ok()) {
      entry->value = *value;
      entry->storage_bytes = storage;
      kept = true;
    } else if (current) {
      entries_.erase(it);  // the next task tries again
    }
  }
  if (!kept && storage > 0) memory_->ReleaseStorage(storage);
  return value;
}

absl::StatusOr<std::shared_ptr<const void>> BroadcastCache::Load(int64_t id,
                                                                 BroadcastDecoder decode,
                                                                 TaskContext& ctx,
                                                                 int64_t* storage_bytes) {
  const auto start = std::chrono::steady_clock::now();
  BroadcastFetchStats stats;
  absl::StatusOr<std::string> encoded = fetcher_->Fetch(id, &stats);
  ctx.metrics.broadcast_bytes += stats.from_driver + stats.from_peers;
  if (!encoded.ok()) return encoded.status();
  std::shared_ptr<const void> value = decode(*encoded);
  const auto took = std::chrono::steady_clock::now() - start;
  ctx.metrics.broadcast_fetch_nanos +=
      std::chrono::duration_cast<std::chrono::nanoseconds>(took).count();
  // Counted at its encoded size, which is what Kiln knows of it (Spark estimates the
  // object's size instead).
  const int64_t bytes = static_cast<int64_t>(encoded->size());
  bool counted = false;
  if (memory_ != nullptr) {
    std::vector<Evicted> evicted;
    counted = memory_->AcquireStorage(bytes, /*dataset=*/-1, &evicted);
    if (counted) *storage_bytes = bytes;
    HandleEvicted(evicted, ctx);
  }
  spdlog::info(
      "task={} broadcast={} fetched {} in {} chunk(s) in {:.3f} s: {} from the driver, {} from "
      "other workers, {} from this worker's disk{}",
      ctx.task_id, id, FormatBytes(bytes), stats.chunks,
      std::chrono::duration<double>(took).count(), FormatBytes(stats.from_driver),
      FormatBytes(stats.from_peers), FormatBytes(stats.from_disk),
      memory_ == nullptr || counted ? ""
                                    : "; storage memory cannot hold it even after evicting "
                                      "cached blocks, so it is held outside the budget");
  return value;
}

void BroadcastCache::Remove(int64_t id) {
  std::shared_ptr<Entry> entry;  // the value is freed outside the lock (or by its last task)
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(id);
    if (it != entries_.end()) {
      entry = std::move(it->second);
      entries_.erase(it);
      if (entry->storage_bytes > 0 && memory_ != nullptr) {
        memory_->ReleaseStorage(entry->storage_bytes);
      }
      entry->storage_bytes = 0;
    }
  }
  fetcher_->Remove(id);
}

size_t BroadcastCache::size() const {
  absl::MutexLock lock(&mu_);
  size_t n = 0;
  for (const auto& [id, entry] : entries_) n += entry->value != nullptr ? 1 : 0;
  return n;
}

int64_t BroadcastCache::storage_bytes() const {
  absl::MutexLock lock(&mu_);
  int64_t n = 0;
  for (const auto& [id, entry] : entries_) n += entry->storage_bytes;
  return n;
}

const void* TaskBroadcasts::Value(int64_t id, BroadcastDecoder decode) {
  for (const auto& [used_id, value] : used_) {
    if (used_id == id) return value.get();
  }
  if (source_ == nullptr) {
    throw std::runtime_error(StrCat("broadcast ", id, ": this task has no broadcast source"));
  }
  absl::StatusOr<std::shared_ptr<const void>> value = source_->Get(id, decode, *ctx_);
  if (!value.ok()) throw std::runtime_error(std::string(View(value.status().message())));
  used_.emplace_back(id, *std::move(value));
  return used_.back().second.get();
}

namespace {
thread_local TaskBroadcasts* tl_broadcasts = nullptr;
}  // namespace

TaskBroadcasts* CurrentTaskBroadcasts() { return tl_broadcasts; }
void SetTaskBroadcasts(TaskBroadcasts* broadcasts) { tl_broadcasts = broadcasts; }

}  // namespace kiln::runtime
