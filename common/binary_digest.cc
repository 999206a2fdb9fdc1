#include "common/binary_digest.h"

#include <cstdlib>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/files.h"
#include "common/strings.h"
#include "xxhash.h"

namespace kiln {
namespace {

constexpr std::string_view kHeader = "kiln binary digest 1";

// The cache file's text: header, path, identity, digest, a line each.
std::string Entry(const std::string& path, const FileIdentity& id, const std::string& digest) {
  return StrCat(kHeader, "\n", path, "\n", id.dev, " ", id.ino, " ", id.size, " ", id.mtime_ns, " ",
                id.ctime_ns, "\n", digest, "\n");
}

}  // namespace

std::string DigestCacheDir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && xdg[0] == '/') return StrCat(xdg, "/kiln/digests");
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] == '/') return StrCat(home, "/.cache/kiln/digests");
  return "";
}

absl::StatusOr<std::string> CachedSha256File(const std::string& path, const std::string& cache_dir,
                                             absl::Duration settle) {
  absl::StatusOr<FileIdentity> before = IdentifyFile(path);
  if (cache_dir.empty() || !before.ok()) return Sha256File(path);
  // One file per path (a hash of it names the file; the path inside tells collisions).
  const std::string entry_path = absl::StrCat(
      cache_dir, "/", absl::Hex(XXH3_64bits(path.data(), path.size()), absl::kZeroPad16));
  if (absl::StatusOr<std::string> cached = ReadFile(entry_path); cached.ok()) {
    const std::vector<std::string_view> lines = Split(*cached, '\n');
    // The same text as Entry() would write for the file as it is now: same path, same
    // identity; the digest is then the last one hashed from it.
    if (lines.size() == 5 && IsSha256Hex(lines[3]) &&
        *cached == Entry(path, *before, std::string(lines[3]))) {
      return std::string(lines[3]);
    }
  }
  absl::StatusOr<std::string> digest = Sha256File(path);
  if (!digest.ok()) return digest;
  // Kept only when nothing changed the file while it was read, nor for `settle` before:
  // a rewrite in place within a tick of the kernel's clock would keep its times (git's
  // index has the same "racily clean" files).
  absl::StatusOr<FileIdentity> after = IdentifyFile(path);
  const int64_t settled_ns = absl::ToUnixNanos(absl::Now() - settle);
  if (after.ok() && *after == *before && after->mtime_ns < settled_ns &&
      after->ctime_ns < settled_ns && MakeDirs(cache_dir).ok()) {
    (void)WriteFileAtomic(entry_path, Entry(path, *before, *digest));
  }
  return digest;
}

}  // namespace kiln
