#include "worker/binary_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "common/files.h"
#include "common/status.h"
#include "common/strings.h"
#include "common/units.h"
#include "spdlog/spdlog.h"

namespace kiln::worker {

BinaryCache::BinaryCache(std::string dir, BinaryFetcher fetcher, BinaryCacheBounds bounds)
    : dir_(std::move(dir)), fetcher_(std::move(fetcher)), bounds_(bounds) {}

bool BinaryCache::IsValidDigest(const std::string& digest) { return IsSha256Hex(digest); }

absl::StatusOr<std::string> BinaryCache::Get(const BinarySource& source,
                                             const std::string& digest) {
  if (!IsValidDigest(digest)) {
    return absl::InvalidArgumentError(
        StrCat("invalid binary digest '", digest, "' (expected 64 lowercase hex characters)"));
  }
  const std::string path = StrCat(dir_, "/", digest);
  std::shared_ptr<Fetch> fetch;
  bool owner = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = fetches_.find(digest);
    if (it != fetches_.end()) {
      fetch = it->second;
    } else if (access(path.c_str(), X_OK) == 0) {
      // Handed out under the lock, so that Prune cannot remove it first.
      handed_out_[digest] = std::chrono::steady_clock::now();
    } else {
      fetch = std::make_shared<Fetch>();
      fetches_[digest] = fetch;
      owner = true;
    }
  }
  if (fetch == nullptr) {  // cached
    MarkUsed(path);
    return path;
  }
  if (owner) {
    absl::Status status = FetchAndVerify(source, digest, path);
    absl::MutexLock lock(&mu_);
    fetch->done = true;
    fetch->status = status;
    fetches_.erase(digest);  // waiters hold `fetch`; a later Get sees the file or refetches
    if (status.ok()) handed_out_[digest] = std::chrono::steady_clock::now();
    fetch_done_.SignalAll();
  } else {
    absl::MutexLock lock(&mu_);
    while (!fetch->done) fetch_done_.Wait(&mu_);
  }
  if (!fetch->status.ok()) return fetch->status;
  MarkUsed(path);
  if (owner) Prune();
  return path;
}

void BinaryCache::MarkUsed(const std::string& path) {
  utimensat(AT_FDCWD, path.c_str(), nullptr, 0);  // now: the least recently used go first
}

void BinaryCache::Prune() {
  if (bounds_.max_bytes <= 0) return;
  namespace fs = std::filesystem;
  struct Entry {
    fs::file_time_type used;
    int64_t bytes;
    std::string digest;
    std::string name;  // the digest, or a download's name
  };
  std::vector<Entry> entries;
  int64_t total = 0;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir_, ec)) {
    const std::string name = e.path().filename().string();
    // Installed binaries, and downloads cut short (not one in progress).
    const bool partial = name.ends_with(kPartialSuffix);
    const std::string digest = partial ? name.substr(0, name.size() - kPartialSuffix.size()) : name;
    if (!IsValidDigest(digest)) continue;
    std::error_code stat_ec;
    const auto used = e.last_write_time(stat_ec);
    const auto bytes = static_cast<int64_t>(e.file_size(stat_ec));
    if (stat_ec) continue;
    entries.push_back({used, bytes, digest, name});
    total += bytes;
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.used < b.used; });
  const auto now = std::chrono::steady_clock::now();
  for (const Entry& e : entries) {
    if (total <= bounds_.max_bytes) break;
    {
      absl::MutexLock lock(&mu_);
      auto it = handed_out_.find(e.digest);
      if (it != handed_out_.end() && now - it->second < bounds_.in_use_for) continue;
      if (fetches_.contains(e.digest)) continue;
      handed_out_.erase(e.digest);
      // Under the lock: a Get that finds the file now would hand out a removed path.
      if (unlink(StrCat(dir_, "/", e.name).c_str()) != 0) continue;
    }
    total -= e.bytes;
    spdlog::info(
        "removed binary {} ({}), the least recently used, to keep {} under {} "
        "(kiln.worker.binaryCache.maxSize)",
        e.digest, FormatBytes(e.bytes), dir_, FormatBytes(bounds_.max_bytes));
  }
}

absl::Status BinaryCache::FetchAndVerify(const BinarySource& source, const std::string& digest,
                                         const std::string& path) {
  RETURN_IF_ERROR(MakeDirs(dir_));
  // One fetch per digest at a time (fetches_), so one name: what a fetch cut short left
  // there is resumed by the next.
  const std::string download = StrCat(path, kPartialSuffix);
  // The fetcher's errors name the digest and the driver.
  absl::Status status = fetcher_(source, digest, download);
  // Cut short (its application ended, the driver went away): kept, to be resumed.
  const bool resumable =
      absl::IsCancelled(status) || absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status);
  if (resumable) return status;
  if (status.ok()) {
    absl::StatusOr<std::string> actual = Sha256File(download);
    if (!actual.ok()) {
      status = actual.status();
    } else if (*actual != digest) {
      const std::string from =
          source.from_master ? "the master" : StrCat("driver ", source.driver_address);
      status = absl::DataLossError(
          StrCat("binary from ", from, " has digest ", *actual, ", expected ", digest));
    } else if (chmod(download.c_str(), 0755) != 0 || rename(download.c_str(), path.c_str()) != 0) {
      status = absl::InternalError(StrCat("cannot install ", path, ": ", strerror(errno)));
    }
  }
  if (!status.ok()) unlink(download.c_str());
  return status;
}

}  // namespace kiln::worker
