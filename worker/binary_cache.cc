#include "worker/binary_cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/files.h"
#include "common/status.h"
#include "common/strings.h"

namespace kiln::worker {

BinaryCache::BinaryCache(std::string dir, BinaryFetcher fetcher)
    : dir_(std::move(dir)), fetcher_(std::move(fetcher)) {}

bool BinaryCache::IsValidDigest(const std::string& digest) {
  if (digest.size() != 64) return false;
  for (char c : digest) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

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
      return path;
    } else {
      fetch = std::make_shared<Fetch>();
      fetches_[digest] = fetch;
      owner = true;
    }
  }
  if (owner) {
    absl::Status status = FetchAndVerify(source, digest, path);
    absl::MutexLock lock(&mu_);
    fetch->done = true;
    fetch->status = status;
    fetches_.erase(digest);  // waiters hold `fetch`; a later Get sees the file or refetches
    fetch_done_.SignalAll();
  } else {
    absl::MutexLock lock(&mu_);
    while (!fetch->done) fetch_done_.Wait(&mu_);
  }
  if (!fetch->status.ok()) return fetch->status;
  return path;
}

absl::Status BinaryCache::FetchAndVerify(const BinarySource& source, const std::string& digest,
                                         const std::string& path) {
  RETURN_IF_ERROR(MakeDirs(dir_));
  const std::string download = UniqueTempPath(path);
  // The fetcher's errors name the digest and the driver.
  absl::Status status = fetcher_(source, digest, download);
  if (status.ok()) {
    absl::StatusOr<std::string> actual = Sha256File(download);
    if (!actual.ok()) {
      status = actual.status();
    } else if (*actual != digest) {
      status = absl::DataLossError(StrCat("binary from driver ", source.driver_address,
                                          " has digest ", *actual, ", expected ", digest));
    } else if (chmod(download.c_str(), 0755) != 0 || rename(download.c_str(), path.c_str()) != 0) {
      status = absl::InternalError(StrCat("cannot install ", path, ": ", strerror(errno)));
    }
  }
  if (!status.ok()) unlink(download.c_str());
  return status;
}

}  // namespace kiln::worker
