#pragma once
// BinaryCache: application binaries on a worker's disk, keyed by their SHA-256 digest,
// under <work-dir>/binaries/<digest>. A binary is fetched once: concurrent requests for
// the same digest wait for the one fetch in flight. A file is renamed to its final name
// only after its digest is verified and it is made executable, so a present file is a
// good one (also across worker restarts).
//
// A fetch cut short (its application ended before the download did, so the driver went
// away; the worker shutting down) leaves <digest>.partial, and the next fetch of that
// digest resumes it: a worker whose executors never start before a short job ends still
// gets the binary, a few jobs later. The digest is checked over the whole file.
//
// Bounded: after each fetch, the least recently used binaries and partial downloads (a
// Get touches its file) are removed while the directory holds more than `max_bytes` —
// but never one handed out within the last `in_use_for` (an executor may be about to
// start from it; one that runs keeps its file open, so removing it does not harm it).
//
// Thread-safe. The fetch itself runs without the lock held.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace kiln::worker {

// Where to get a binary: writes the bytes of `digest` to `dest_path` (a kiln::DriverClient
// call in the worker, or a MasterClient one for a driver's binary; a fake in tests). A
// file already there holds the first bytes from a fetch cut short: the fetcher resumes
// after them, or replaces it. CANCELLED, UNAVAILABLE or DEADLINE_EXCEEDED keep what it
// wrote for the next fetch; any other error drops it.
struct BinarySource {
  std::string driver_address;
  std::string app_id;
  int executor_id = 0;              // the executor it is fetched for
  std::string executor_token = {};  // and its token from the master, which the driver checks
  int64_t size = 0;                 // as the driver declared it; 0 = unknown
  // A driver's binary in cluster deploy mode: from the master (Master.FetchDriverBinary,
  // with the worker's token), which holds what kiln-submit uploaded; the fields above
  // are then unused.
  bool from_master = false;
};
using BinaryFetcher = std::function<absl::Status(
    const BinarySource& source, const std::string& digest, const std::string& dest_path)>;

struct BinaryCacheBounds {
  int64_t max_bytes = 0;  // kiln.worker.binaryCache.maxSize; 0 = no bound
  std::chrono::seconds in_use_for{60};
};

class BinaryCache {
 public:
  BinaryCache(std::string dir, BinaryFetcher fetcher, BinaryCacheBounds bounds = {});

  // The path of the verified, executable binary with `digest` (64 lowercase hex
  // characters), fetched from `source` unless cached. Errors name the digest and the
  // cause (fetch failure, digest mismatch).
  absl::StatusOr<std::string> Get(const BinarySource& source, const std::string& digest);

  static bool IsValidDigest(const std::string& digest);
  // A download's name: <digest> and this.
  static constexpr std::string_view kPartialSuffix = ".partial";

 private:
  struct Fetch {
    bool done = false;
    absl::Status status;
  };
  absl::Status FetchAndVerify(const BinarySource& source, const std::string& digest,
                              const std::string& path);
  // Sets the file's time to now: the least recently used binaries are removed first.
  static void MarkUsed(const std::string& path);
  // Removes least recently used binaries beyond bounds_.max_bytes.
  void Prune() ABSL_LOCKS_EXCLUDED(mu_);

  const std::string dir_;
  const BinaryFetcher fetcher_;
  const BinaryCacheBounds bounds_;
  absl::Mutex mu_;
  absl::CondVar fetch_done_;
  // Fetches in flight (and just finished, until their waiters have looked), by digest.
  absl::flat_hash_map<std::string, std::shared_ptr<Fetch>> fetches_ ABSL_GUARDED_BY(mu_);
  // When each binary was last handed out.
  absl::flat_hash_map<std::string, std::chrono::steady_clock::time_point> handed_out_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace kiln::worker
