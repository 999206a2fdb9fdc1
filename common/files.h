#pragma once
// File I/O written once (LevelDB's Env discipline): an owned file descriptor, reads and
// writes that retry EINTR and short transfers, and one mapping of errno to absl::Status.
// Every error names the path. Thread-compatible.

#include <sys/types.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "common/strings.h"

namespace kiln {

// The status for errno value `err` after `what` failed ("cannot open /x"): NotFound,
// AlreadyExists, PermissionDenied, ResourceExhausted (disk full), or Internal, with
// strerror's text after `what`.
absl::Status ErrnoStatus(int err, std::string_view what);

// ErrnoStatus for the errno a system call just set (read before anything else runs),
// with the concatenation of `what` as the message.
template <class... Args>
absl::Status ErrnoError(const Args&... what) {
  const int err = errno;
  return ErrnoStatus(err, StrCat(what...));
}

// An open file descriptor, closed when it goes out of scope. Move-only.
class ScopedFd {
 public:
  ScopedFd() = default;
  explicit ScopedFd(int fd) : fd_(fd) {}
  ScopedFd(ScopedFd&& other) noexcept : fd_(other.Release()) {}
  ScopedFd& operator=(ScopedFd&& other) noexcept {
    Reset(other.Release());
    return *this;
  }
  ~ScopedFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() { return std::exchange(fd_, -1); }
  void Reset(int fd = -1);
  // Closes now and reports a failed close (lost writes on some file systems).
  absl::Status Close(const std::string& path);

 private:
  int fd_ = -1;
};

// open(2) with O_CLOEXEC added. The error says "cannot open <what> <path>: <reason>"
// (`what`: "input file", "shuffle file", ...).
absl::StatusOr<ScopedFd> OpenFile(const std::string& path, int flags,
                                  std::string_view what = "file", mode_t mode = 0644);

// Reads up to `size` bytes at `offset` into `buf`, retrying EINTR and short reads: fewer
// than `size` only at the end of the file.
absl::StatusOr<size_t> ReadAt(int fd, uint64_t offset, char* buf, size_t size,
                              const std::string& path);
// Reads exactly `size` bytes at `offset`; DataLoss naming the path and the offset when
// the file ends first.
absl::Status PreadFully(int fd, uint64_t offset, char* buf, size_t size, const std::string& path);

// Writes all of `data` to `fd` (retrying short writes and EINTR).
absl::Status WriteAll(int fd, std::string_view data, const std::string& path);

// A name next to `path` for writing it aside before a rename: "<path>.tmp.<pid>.<n>",
// unique in the process and across processes (two writers never share one).
std::string UniqueTempPath(const std::string& path);

absl::StatusOr<std::string> ReadFile(const std::string& path);
// Writes to a UniqueTempPath and renames it over `path`, so readers never see a partial
// file. `durable`: the data is fsynced before the rename and the directory after it, so
// that the new file survives a crash of the machine too.
absl::Status WriteFileAtomic(const std::string& path, std::string_view content,
                             bool durable = false);
// Creates the directory and its parents (like mkdir -p).
absl::Status MakeDirs(const std::string& path);
// Removes a file or directory tree; a missing path is not an error.
absl::Status RemoveAll(const std::string& path);
// Lowercase hex SHA-256 of a file's bytes.
absl::StatusOr<std::string> Sha256File(const std::string& path);
// True when `digest` is what Sha256File returns: 64 lowercase hex characters.
bool IsSha256Hex(std::string_view digest);

// What tells a file's contents apart without reading them: its device, inode, size,
// and modification and change times. Writing the file, renaming another over it or
// touching it changes one of them.
struct FileIdentity {
  uint64_t dev = 0;
  uint64_t ino = 0;
  int64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  bool operator==(const FileIdentity&) const = default;
};
// stat(2) of `path` (following symlinks); "cannot stat <path>: <reason>" when it fails.
absl::StatusOr<FileIdentity> IdentifyFile(const std::string& path);
// The absolute path of the running executable (/proc/self/exe).
absl::StatusOr<std::string> SelfExePath();
// Creates a fresh directory under `parent` named "<prefix>XXXXXX".
absl::StatusOr<std::string> MakeTempDir(const std::string& parent, const std::string& prefix);

// Scratch dirs that outlive a crashed owner: the owner holds an exclusive flock on
// DIR/.owner for as long as it lives (the kernel drops it when the process dies, also
// by SIGKILL); a later run removes the dirs whose lock nobody holds.
// Takes the lock; keep the fd open while the dir is in use.
absl::StatusOr<ScopedFd> LockOwnedDir(const std::string& dir);
// Removes the dirs under `parent` whose names start with `prefix` and whose owner is
// gone; returns how many. A dir whose creator died before its lock file was in place
// goes too, once that is clearly so (.owner.new unlocked for a second, no lock file for
// a minute).
int RemoveAbandonedDirs(const std::string& parent, const std::string& prefix);

// A process's exclusive claim on `path` (a daemon's work dir, say): an flock held while
// the fd is open, released by the kernel when the process dies. The file holds the
// holder's pid. FAILED_PRECONDITION "held by process N" when another process holds it.
absl::StatusOr<ScopedFd> ClaimFile(const std::string& path);

// True for application ids, as the master makes them (app-20240101120000-0007): "app-",
// then groups of digits joined by '-', at most 64 characters. Such an id is a safe path
// component, and never the name of anything else in a worker's work dir.
bool IsAppId(std::string_view id);

// True for ids safe to use as one path component (application ids, file names that
// come over the network): [A-Za-z0-9._-]+, and not "." or "..".
bool IsSafePathComponent(const std::string& id);

}  // namespace kiln
