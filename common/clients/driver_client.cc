#include "common/clients/driver_client.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>

#include "common/background.h"
#include "common/files.h"
#include "common/retry.h"
#include "common/rpc.h"
#include "common/status.h"
#include "common/strings.h"

namespace kiln {
namespace {

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

DriverClient::DriverClient(DriverClientOptions options)
    : options_(std::move(options)),
      stub_(proto::Driver::NewStub(
          rpc::MakeChannel(options_.address, options_.max_message_bytes, options_.security))) {}

void DriverClient::Cancel() {
  absl::MutexLock lock(&mu_);
  cancelled_.Raise();
  for (grpc::ClientContext* ctx : active_) ctx->TryCancel();
}

absl::Status DriverClient::FetchOnce(const proto::FetchBinaryRequest& request,
                                     const std::string& path, bool* received_data) {
  ASSIGN_OR_RETURN(ScopedFd fd, OpenFile(path, O_WRONLY | O_CREAT, "binary download", 0600));
  // Exactly the bytes the driver is asked to skip, then what it sends after them.
  if (ftruncate(fd.get(), request.offset()) != 0 ||
      lseek(fd.get(), request.offset(), SEEK_SET) != request.offset()) {
    return ErrnoError("cannot resume ", path, " at byte ", request.offset());
  }
  auto ctx = rpc::ContextWithDeadline(options_.fetch_timeout);
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_.raised()) return absl::CancelledError("fetch cancelled");
    active_.insert(ctx.get());
  }
  std::unique_ptr<grpc::ClientReader<proto::BinaryChunk>> reader =
      stub_->FetchBinary(ctx.get(), request);
  proto::BinaryChunk chunk;
  absl::Status write_status;
  int64_t received = request.offset();
  // Cancels the call when no chunk came for stall_timeout.
  std::atomic<int64_t> last_chunk_ms{NowMillis()};
  std::atomic<bool> stalled{false};
  PeriodicThread watchdog(
      std::max(std::chrono::milliseconds(10), options_.stall_timeout / 10), [&] {
        if (NowMillis() - last_chunk_ms.load() > options_.stall_timeout.count()) {
          stalled = true;
          ctx->TryCancel();
        }
      });
  watchdog.Start();
  while (reader->Read(&chunk)) {
    last_chunk_ms = NowMillis();
    *received_data = true;
    received += static_cast<int64_t>(chunk.data().size());
    if (options_.max_binary_bytes > 0 && received > options_.max_binary_bytes) {
      write_status = absl::ResourceExhaustedError(
          StrCat("driver ", options_.address, " sent more than the ", options_.max_binary_bytes,
                 " bytes of binary ", request.digest()));
      ctx->TryCancel();
      break;
    }
    write_status = WriteAll(fd.get(), chunk.data(), path);
    if (!write_status.ok()) {
      ctx->TryCancel();
      break;
    }
  }
  grpc::Status status = reader->Finish();
  watchdog.Stop();
  if (stalled && write_status.ok()) {
    write_status = absl::DeadlineExceededError(
        StrCat("driver ", options_.address, " sent nothing for ", options_.stall_timeout.count(),
               " ms while streaming binary ", request.digest(), ": fetch abandoned"));
  }
  {
    absl::MutexLock lock(&mu_);
    active_.erase(ctx.get());
  }
  if (write_status.ok() && fsync(fd.get()) != 0) {
    write_status = ErrnoError("cannot sync ", path);
  }
  if (write_status.ok()) write_status = fd.Close(path);
  if (!write_status.ok()) return write_status;
  return rpc::ToAbsl(status);
}

absl::Status DriverClient::ExecutorFailed(const proto::ExecutorFailedRequest& request) {
  auto ctx = rpc::ContextWithDeadline(options_.call_timeout);
  proto::ExecutorFailedReply reply;
  return rpc::ToAbsl(stub_->ExecutorFailed(ctx.get(), request, &reply));
}

absl::StatusOr<proto::BroadcastLocations> DriverClient::LocateBroadcast(
    const proto::LocateBroadcastRequest& request) {
  auto ctx = rpc::ContextWithDeadline(options_.call_timeout);
  proto::BroadcastLocations reply;
  RETURN_IF_ERROR(rpc::ToAbsl(stub_->LocateBroadcast(ctx.get(), request, &reply)));
  return reply;
}

absl::StatusOr<std::string> DriverClient::FetchBroadcastChunk(
    const proto::FetchBroadcastChunkRequest& request) {
  auto ctx = rpc::ContextWithDeadline(options_.call_timeout);
  proto::BroadcastChunkData reply;
  RETURN_IF_ERROR(rpc::ToAbsl(stub_->FetchBroadcastChunk(ctx.get(), request, &reply)));
  return std::move(*reply.mutable_data());
}

absl::Status DriverClient::FetchBinary(const proto::FetchBinaryRequest& request,
                                       const std::string& dest_path) {
  bool received_data = false;
  absl::Status status = rpc::RetryUnavailable(
      {.what = StrCat("fetching binary ", request.digest(), " of app ", request.app_id(),
                      " from driver ", options_.address),
       .total = options_.retry_for,
       .stop = &cancelled_},
      [&] {
        received_data = false;
        return FetchOnce(request, dest_path, &received_data);
      },
      // Only a call that never got going is retried: a stream broken half-way is the
      // driver's problem to report, and retrying it would hide it.
      [&](const absl::Status& s) { return !received_data && absl::IsUnavailable(s); });
  return status;
}

}  // namespace kiln
