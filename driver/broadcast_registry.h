#pragma once
// BroadcastRegistry: the driver's broadcast variables (driver/broadcast.h). For each it
// keeps the value (what value() returns on the driver and in local mode's tasks) and,
// from the first time an executor asks, its encoding cut into chunks of `chunk_bytes`
// (kiln.broadcast.blockSize), each with its XXH64. It tracks which executors hold which
// chunks, so that an executor fetching the value is pointed at the workers that can
// serve them (Spark's TorrentBroadcast) and the driver sends each chunk about once.
//
// Unpersist() forgets the executors' copies (the caller tells them to drop them);
// Destroy() also drops the driver's, after which the value and its chunks are refused,
// naming the broadcast. Thread-safe. The value's encoding runs once, outside the lock.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "proto/driver.pb.h"

namespace kiln::internal {

class BroadcastRegistry {
 public:
  // Encodes the value with its kiln::Codec (called at most once per broadcast).
  using Encoder = std::function<std::string()>;

  // `drop_copies` tells the executors to drop their copies of a broadcast (called
  // without the lock by Unpersist and Destroy; may be empty).
  explicit BroadcastRegistry(int64_t chunk_bytes = 4 << 20,
                             std::function<void(int64_t)> drop_copies = {});
  ~BroadcastRegistry();
  BroadcastRegistry(const BroadcastRegistry&) = delete;
  BroadcastRegistry& operator=(const BroadcastRegistry&) = delete;

  // A new broadcast of `value` (a T, as `type` names it); returns its id (0, 1, ...).
  int64_t Add(std::shared_ptr<const void> value, Encoder encode, std::string type);

  // The value; FAILED_PRECONDITION when destroyed, NOT_FOUND for an unknown id.
  absl::StatusOr<std::shared_ptr<const void>> Value(int64_t id) const;

  // For an executor (`executor`, whose worker serves at `address`): records the chunks
  // it now holds, then says where each chunk is. Encodes the value the first time.
  absl::StatusOr<proto::BroadcastLocations> Locate(int64_t id, const std::string& executor,
                                                   const std::string& address,
                                                   const std::vector<int>& held_chunks);
  // Chunk `chunk` of the driver's copy, into `out`.
  absl::Status Chunk(int64_t id, int chunk, std::string* out);

  // Forgets which executors hold it and tells them to drop their copies.
  void Unpersist(int64_t id);
  // Drops the value and its chunks; later uses fail naming it.
  void Destroy(int64_t id);
  // The executor is gone: its chunks are no longer offered.
  void ExecutorRemoved(const std::string& executor);

  // Chunk bytes the driver sent to executors, since it started.
  int64_t bytes_served() const;

 private:
  struct Entry;
  // The live entry of `id`: NOT_FOUND, or FAILED_PRECONDITION once destroyed.
  absl::StatusOr<std::shared_ptr<Entry>> Find(int64_t id) const ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<std::shared_ptr<Entry>> FindLocked(int64_t id) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Encodes the entry's value once (outside mu_); the encoding or why not.
  absl::Status EnsureEncoded(Entry& entry);

  const int64_t chunk_bytes_;
  const std::function<void(int64_t)> drop_copies_;
  mutable absl::Mutex mu_;
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<int64_t, std::shared_ptr<Entry>> entries_ ABSL_GUARDED_BY(mu_);
  int64_t bytes_served_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace kiln::internal
