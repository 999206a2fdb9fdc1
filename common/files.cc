#include "common/files.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <vector>

#include "common/status.h"
#include "common/strings.h"

namespace kiln {

namespace fs = std::filesystem;

namespace {

// Calls `consume` with the file's bytes, a buffer at a time.
template <class Consume>
absl::Status ForEachChunk(const std::string& path, Consume consume) {
  ASSIGN_OR_RETURN(ScopedFd fd, OpenFile(path, O_RDONLY));
  std::string buffer(1 << 20, '\0');
  uint64_t offset = 0;
  while (true) {
    ASSIGN_OR_RETURN(size_t n, ReadAt(fd.get(), offset, buffer.data(), buffer.size(), path));
    if (n == 0) return absl::OkStatus();
    consume(std::string_view(buffer.data(), n));
    offset += n;
  }
}

}  // namespace

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  ASSIGN_OR_RETURN(ScopedFd fd, OpenFile(path, O_RDONLY));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return ErrnoError("cannot stat ", path);
  // Sized for the file as it is now; read to the end in case it grows meanwhile.
  std::string out(static_cast<size_t>(st.st_size) + 1, '\0');
  size_t size = 0;
  while (true) {
    if (size == out.size()) out.resize(out.size() * 2);
    ASSIGN_OR_RETURN(size_t n, ReadAt(fd.get(), size, out.data() + size, out.size() - size, path));
    size += n;
    if (size < out.size()) break;  // ReadAt stops short only at the end of the file
  }
  out.resize(size);
  return out;
}

absl::Status WriteFileAtomic(const std::string& path, std::string_view content, bool durable) {
  const std::string tmp = UniqueTempPath(path);
  absl::Status status;
  {
    ASSIGN_OR_RETURN(ScopedFd fd, OpenFile(tmp, O_WRONLY | O_CREAT | O_TRUNC));
    status = WriteAll(fd.get(), content, tmp);
    if (status.ok() && durable && ::fsync(fd.get()) != 0) status = ErrnoError("cannot fsync ", tmp);
    if (status.ok()) status = fd.Close(tmp);
  }
  if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    status = ErrnoError("cannot rename ", tmp, " to ", path);
  }
  if (!status.ok()) {
    ::unlink(tmp.c_str());
    return status;
  }
  if (durable) {
    const size_t slash = path.rfind('/');
    const std::string dir =
        slash == std::string::npos ? "." : path.substr(0, std::max<size_t>(slash, 1));
    ASSIGN_OR_RETURN(ScopedFd dir_fd, OpenFile(dir, O_RDONLY | O_DIRECTORY));
    if (::fsync(dir_fd.get()) != 0) return ErrnoError("cannot fsync ", dir);
  }
  return absl::OkStatus();
}

std::string UniqueTempPath(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  return StrCat(path, ".tmp.", static_cast<int64_t>(::getpid()), ".", counter.fetch_add(1));
}

absl::Status ErrnoStatus(int err, std::string_view what) {
  std::string message = StrCat(what, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(message);
    case EEXIST:
      return absl::AlreadyExistsError(message);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(message);
    case ENOSPC:
    case EDQUOT:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case EAGAIN:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::InternalError(message);
  }
}

void ScopedFd::Reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

absl::Status ScopedFd::Close(const std::string& path) {
  if (fd_ < 0) return absl::OkStatus();
  if (::close(Release()) != 0) return ErrnoError("cannot close ", path);
  return absl::OkStatus();
}

absl::StatusOr<ScopedFd> OpenFile(const std::string& path, int flags, std::string_view what,
                                  mode_t mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoError("cannot open ", what, " ", path);
  return ScopedFd(fd);
}

absl::StatusOr<size_t> ReadAt(int fd, uint64_t offset, char* buf, size_t size,
                              const std::string& path) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, buf + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("cannot read ", path, " at byte ", offset + done);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

absl::Status PreadFully(int fd, uint64_t offset, char* buf, size_t size, const std::string& path) {
  absl::StatusOr<size_t> got = ReadAt(fd, offset, buf, size, path);
  if (!got.ok()) return got.status();
  if (*got < size) {
    return absl::DataLossError(StrCat(path, " is truncated: it ends at byte ", offset + *got,
                                      ", before byte ", offset + size));
  }
  return absl::OkStatus();
}

absl::Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot write ", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status MakeDirs(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return absl::PermissionDeniedError(StrCat("cannot create ", path, ": ", ec.message()));
  return absl::OkStatus();
}

absl::Status RemoveAll(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) return absl::InternalError(StrCat("cannot remove ", path, ": ", ec.message()));
  return absl::OkStatus();
}

bool IsSha256Hex(std::string_view digest) {
  if (digest.size() != 64) return false;
  for (char c : digest) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

absl::StatusOr<std::string> Sha256File(const std::string& path) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  absl::Status read = ForEachChunk(
      path, [&](std::string_view chunk) { EVP_DigestUpdate(ctx, chunk.data(), chunk.size()); });
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  if (!read.ok()) return read;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[md[i] >> 4]);
    hex.push_back(kHex[md[i] & 15]);
  }
  return hex;
}

absl::StatusOr<FileIdentity> IdentifyFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoError("cannot stat ", path);
  auto ns = [](const timespec& t) { return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec; };
  return FileIdentity{.dev = st.st_dev,
                      .ino = st.st_ino,
                      .size = st.st_size,
                      .mtime_ns = ns(st.st_mtim),
                      .ctime_ns = ns(st.st_ctim)};
}

absl::StatusOr<std::string> SelfExePath() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return absl::InternalError(StrCat("cannot read /proc/self/exe: ", ec.message()));
  return p.string();
}

absl::StatusOr<std::string> MakeTempDir(const std::string& parent, const std::string& prefix) {
  absl::Status made = MakeDirs(parent);
  if (!made.ok()) return made;
  std::string templ = (fs::path(parent) / (prefix + "XXXXXX")).string();
  if (mkdtemp(templ.data()) == nullptr) {
    return ErrnoError("cannot create a directory under ", parent);
  }
  return templ;
}

absl::StatusOr<ScopedFd> LockOwnedDir(const std::string& dir) {
  // Locked under another name, then renamed: a sweeper never sees it unlocked.
  const std::string path = dir + "/.owner";
  const std::string taking = path + ".new";
  ASSIGN_OR_RETURN(ScopedFd fd, OpenFile(taking, O_RDWR | O_CREAT, "lock file"));
  if (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) return ErrnoError("cannot lock ", taking);
  if (rename(taking.c_str(), path.c_str()) != 0) return ErrnoError("cannot rename ", taking);
  return fd;
}

absl::StatusOr<ScopedFd> ClaimFile(const std::string& path) {
  ASSIGN_OR_RETURN(ScopedFd fd, OpenFile(path, O_RDWR | O_CREAT, "lock file"));
  if (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return ErrnoError("cannot lock ", path);
    const std::string holder(StripWhitespace(ReadFile(path).value_or("")));
    return absl::FailedPreconditionError(
        StrCat("held by ", holder.empty() ? "another process" : StrCat("process ", holder)));
  }
  const std::string pid = StrCat(getpid(), "\n");
  if (ftruncate(fd.get(), 0) != 0 || pwrite(fd.get(), pid.data(), pid.size(), 0) < 0) {
    return ErrnoError("cannot write ", path);
  }
  return fd;
}

int RemoveAbandonedDirs(const std::string& parent, const std::string& prefix) {
  std::error_code ec;
  int removed = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(parent, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(prefix) || !entry.is_directory(ec)) continue;
    // Its creator takes the lock on .owner.new and renames it .owner; a dir left with
    // .owner.new (older than that takes) or no lock file (older than a minute) lost its
    // creator on the way.
    const fs::path owner = entry.path() / ".owner";
    const fs::path taking = entry.path() / ".owner.new";
    auto older_than = [&](const fs::path& p, std::chrono::seconds age) {
      std::error_code time_ec;
      const auto written = fs::last_write_time(p, time_ec);
      return !time_ec && fs::file_time_type::clock::now() - written > age;
    };
    int fd = open(owner.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0 && older_than(taking, std::chrono::seconds(1))) {
      fd = open(taking.c_str(), O_RDWR | O_CLOEXEC);
    }
    if (fd < 0) {
      if (!fs::exists(taking, ec) && older_than(entry.path(), std::chrono::minutes(1)) &&
          RemoveAll(entry.path().string()).ok()) {
        ++removed;
      }
      continue;
    }
    ScopedFd lock(fd);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) continue;  // its owner lives
    if (RemoveAll(entry.path().string()).ok()) ++removed;
  }
  return removed;
}

bool IsAppId(std::string_view id) {
  constexpr std::string_view kPrefix = "app-";
  if (!id.starts_with(kPrefix) || id.size() > 64) return false;
  bool digit_before = false;
  for (char c : id.substr(kPrefix.size())) {
    if (c >= '0' && c <= '9') {
      digit_before = true;
    } else if (c == '-' && digit_before) {
      digit_before = false;
    } else {
      return false;
    }
  }
  return digit_before;
}

bool IsSafePathComponent(const std::string& id) {
  if (id.empty() || id == "." || id == "..") return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace kiln
