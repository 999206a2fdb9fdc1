#pragma once
// Broadcast variables inside tasks (the API is driver/broadcast.h).
//
// A BroadcastSource gives a task the value of a broadcast: in an executor, its
// BroadcastCache, which fetches the encoded value once per process (chunks from peers'
// workers or the driver, through a BroadcastFetcher), decodes it once, counts it in the
// executor's storage memory and keeps it until the driver says unpersist or destroy; in
// local mode, the driver's registry itself (no copy).
//
// RunTask installs a TaskBroadcasts for each task attempt: Broadcast<T>::value() in a
// task goes there. It keeps every value the task used alive until the task ends, so a
// reference from value() stays valid for the whole task even if the broadcast is
// unpersisted meanwhile.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace kiln::runtime {

struct TaskContext;
class MemoryManager;

// Decodes a broadcast's encoding into its value (a T, for a Broadcast<T>).
using BroadcastDecoder = std::shared_ptr<const void> (*)(std::string_view encoded);

class BroadcastSource {
 public:
  virtual ~BroadcastSource() = default;
  // The value of broadcast `id`, decoded with `decode` where it comes encoded. `ctx`
  // is the asking task: a fetch is counted in its metrics, and cached blocks evicted to
  // make room for the value in its block updates. An error names the broadcast.
  virtual absl::StatusOr<std::shared_ptr<const void>> Get(int64_t id, BroadcastDecoder decode,
                                                          TaskContext& ctx) = 0;
};

// What a fetch of one broadcast moved.
struct BroadcastFetchStats {
  int chunks = 0;
  int64_t from_driver = 0;  // bytes
  int64_t from_peers = 0;   // bytes, from other workers
  int64_t from_disk = 0;    // bytes another executor on this worker had fetched
};

// Gets the encoded value of a broadcast for an executor. Thread-safe.
class BroadcastFetcher {
 public:
  virtual ~BroadcastFetcher() = default;
  virtual absl::StatusOr<std::string> Fetch(int64_t id, BroadcastFetchStats* stats) = 0;
  // Deletes what Fetch kept of broadcast `id` (its chunk files).
  virtual void Remove(int64_t id) = 0;
};

// An executor's broadcast values. Thread-safe: the first task that asks for a
// broadcast fetches and decodes it while the others that ask wait; a failed fetch is
// not remembered (the next task tries again).
class BroadcastCache final : public BroadcastSource {
 public:
  // `memory` (may be null: not counted) is the executor's; both outlive the cache.
  BroadcastCache(BroadcastFetcher* fetcher, MemoryManager* memory);
  ~BroadcastCache() override;

  absl::StatusOr<std::shared_ptr<const void>> Get(int64_t id, BroadcastDecoder decode,
                                                  TaskContext& ctx) override;
  // Drops broadcast `id` (tasks using it keep it until they end) and its chunk files.
  void Remove(int64_t id);

  // Values held, and the storage memory they are counted in.
  size_t size() const;
  int64_t storage_bytes() const;

 private:
  struct Entry {  // every field under the cache's mu_
    bool loading = false;
    std::shared_ptr<const void> value;  // set once loaded
    int64_t storage_bytes = 0;          // counted in the memory manager
  };
  // Fetches and decodes outside the lock; the value or why not.
  absl::StatusOr<std::shared_ptr<const void>> Load(int64_t id, BroadcastDecoder decode,
                                                   TaskContext& ctx, int64_t* storage_bytes);

  BroadcastFetcher* const fetcher_;
  MemoryManager* const memory_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<int64_t, std::shared_ptr<Entry>> entries_ ABSL_GUARDED_BY(mu_);
};

// The broadcasts of one task attempt. Not thread-safe: used by its task's thread.
class TaskBroadcasts {
 public:
  // `source` may be null (nothing to read broadcasts from: value() throws).
  TaskBroadcasts(BroadcastSource* source, TaskContext* ctx) : source_(source), ctx_(ctx) {}
  // The value of broadcast `id`; throws std::runtime_error with the reason when it
  // cannot be had (which fails the task with that message).
  const void* Value(int64_t id, BroadcastDecoder decode);

 private:
  BroadcastSource* const source_;
  TaskContext* const ctx_;
  std::vector<std::pair<int64_t, std::shared_ptr<const void>>> used_;  // few: searched in order
};

// The broadcasts of the task running on this thread; null outside a task.
TaskBroadcasts* CurrentTaskBroadcasts();
// Installs (or, with null, removes) this thread's task broadcasts (RunTask does).
void SetTaskBroadcasts(TaskBroadcasts* broadcasts);

}  // namespace kiln::runtime
