#include "master/driver_binaries.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/files.h"
#include "common/status.h"
#include "common/strings.h"
#include "common/units.h"
#include "spdlog/spdlog.h"

namespace kiln::master {
absl::Status DriverBinaries::Receive(const std::string& digest, int64_t size,
                                     const std::function<bool(std::string* data)>& next) {
  if (!IsSha256Hex(digest)) {
    return absl::InvalidArgumentError(
        "UploadDriverBinary: digest is not 64 lowercase hex characters");
  }
  if (size < 0 || size > kMaxBinaryBytes) {
    return absl::InvalidArgumentError(
        StrCat("UploadDriverBinary: size ", size, " is not in 0..", kMaxBinaryBytes));
  }
  RETURN_IF_ERROR(MakeDirs(dir_));
  const std::string path = PathOf(digest);
  const std::string tmp = UniqueTempPath(path);
  absl::Status status = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(ScopedFd fd,
                     OpenFile(tmp, O_WRONLY | O_CREAT | O_TRUNC, "driver binary upload", 0600));
    int64_t received = 0;
    std::string data;
    while (next(&data)) {
      received += static_cast<int64_t>(data.size());
      if (received > size) {
        return absl::InvalidArgumentError(
            StrCat("UploadDriverBinary: more than the ", size, " bytes declared"));
      }
      RETURN_IF_ERROR(WriteAll(fd.get(), data, tmp));
    }
    if (received != size) {
      return absl::InvalidArgumentError(
          StrCat("UploadDriverBinary: ", received, " bytes received, ", size, " declared"));
    }
    if (fsync(fd.get()) != 0) return ErrnoError("cannot sync ", tmp);
    ASSIGN_OR_RETURN(std::string actual, Sha256File(tmp));
    if (actual != digest) {
      return absl::InvalidArgumentError(
          StrCat("UploadDriverBinary: the bytes have digest ", actual, ", not ", digest));
    }
    if (chmod(tmp.c_str(), 0700) != 0 || rename(tmp.c_str(), path.c_str()) != 0) {
      return ErrnoError("cannot install ", path);
    }
    return absl::OkStatus();
  }();
  if (!status.ok()) {
    unlink(tmp.c_str());
    return status;
  }
  spdlog::info("driver binary received digest={} size=\"{}\"", digest, FormatBytes(size));
  return absl::OkStatus();
}

bool DriverBinaries::Has(const std::string& digest) const {
  return IsSha256Hex(digest) && access(PathOf(digest).c_str(), F_OK) == 0;
}

void DriverBinaries::Remove(const std::string& digest) {
  if (!IsSha256Hex(digest)) return;
  if (unlink(PathOf(digest).c_str()) == 0) {
    spdlog::info("driver binary removed digest={}: no driver runs from it", digest);
  }
}

}  // namespace kiln::master
