#include "common/clients/driver_client.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include "common/rpc.h"
#include "common/status.h"
#include "common/strings.h"

namespace kiln {
namespace {

// Writes all of `data` to `fd`.
bool WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

std::string TempPathFor(const std::string& dest_path) {
  static std::atomic<uint64_t> counter{0};
  return StrCat(dest_path, ".tmp.", static_cast<int64_t>(getpid()), ".", counter++);
}

}  // namespace

DriverClient::DriverClient(DriverClientOptions options)
    : options_(std::move(options)),
      stub_(proto::Driver::NewStub(
          rpc::MakeChannel(options_.address, options_.max_message_bytes))) {}

void DriverClient::Cancel() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  for (grpc::ClientContext* ctx : active_) ctx->TryCancel();
}

absl::Status DriverClient::FetchOnce(const std::string& app_id, const std::string& digest,
                                     const std::string& tmp_path, bool* received_data) {
  int fd = open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        StrCat("cannot create ", tmp_path, ": ", strerror(errno)));
  }
  auto ctx = rpc::ContextWithDeadline(options_.fetch_timeout);
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_) {
      close(fd);
      return absl::CancelledError("fetch cancelled");
    }
    active_.insert(ctx.get());
  }
  proto::FetchBinaryRequest request;
  request.set_app_id(app_id);
  request.set_digest(digest);
  std::unique_ptr<grpc::ClientReader<proto::BinaryChunk>> reader =
      stub_->FetchBinary(ctx.get(), request);
  proto::BinaryChunk chunk;
  absl::Status write_status;
  while (reader->Read(&chunk)) {
    *received_data = true;
    if (!WriteAll(fd, chunk.data())) {
      write_status = absl::DataLossError(StrCat("cannot write ", tmp_path, ": ", strerror(errno)));
      ctx->TryCancel();
      break;
    }
  }
  grpc::Status status = reader->Finish();
  {
    absl::MutexLock lock(&mu_);
    active_.erase(ctx.get());
  }
  if (write_status.ok() && fsync(fd) != 0) {
    write_status = absl::DataLossError(StrCat("cannot sync ", tmp_path, ": ", strerror(errno)));
  }
  close(fd);
  if (!write_status.ok()) return write_status;
  return rpc::ToAbsl(status);
}

absl::Status DriverClient::FetchBinary(const std::string& app_id, const std::string& digest,
                                       const std::string& dest_path) {
  const std::string tmp_path = TempPathFor(dest_path);
  const std::string what =
      StrCat("fetching binary ", digest, " of app ", app_id, " from driver ", options_.address);
  auto deadline = std::chrono::steady_clock::now() + options_.retry_for;
  rpc::Backoff backoff(std::chrono::milliseconds(50), std::chrono::milliseconds(1000));
  absl::Status status;
  while (true) {
    bool received_data = false;
    status = FetchOnce(app_id, digest, tmp_path, &received_data);
    // Only a call that never got going is retried: a stream broken half-way is the
    // driver's problem to report, and retrying it would hide it.
    bool retryable = !received_data && absl::IsUnavailable(status);
    auto now = std::chrono::steady_clock::now();
    if (status.ok() || !retryable || now >= deadline) break;
    {
      absl::MutexLock lock(&mu_);
      if (cancelled_) break;
    }
    std::this_thread::sleep_for(
        std::min<std::chrono::nanoseconds>(backoff.Next(), deadline - now));
  }
  if (!status.ok()) {
    unlink(tmp_path.c_str());
    return Annotate(status, what);
  }
  if (rename(tmp_path.c_str(), dest_path.c_str()) != 0) {
    absl::Status err = absl::InternalError(
        StrCat("cannot rename ", tmp_path, " to ", dest_path, ": ", strerror(errno)));
    unlink(tmp_path.c_str());
    return err;
  }
  return absl::OkStatus();
}

}  // namespace kiln
