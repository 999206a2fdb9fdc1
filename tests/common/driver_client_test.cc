// DriverClient against a driver service on 127.0.0.1: a binary download stops at the
// size the driver declared, a stalled one is abandoned keeping what arrived, and a
// download cut short resumes where it ended.
#include "common/clients/driver_client.h"

#include <unistd.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/files.h"
#include "common/rpc.h"
#include "common/strings.h"
#include "proto/driver.grpc.pb.h"
#include "tests/kiln_catch.h"
#include "tests/support/test_util.h"

namespace kiln {
namespace {

// Streams 64 KiB chunks until the caller goes away (a driver lying about its size).
class EndlessDriver final : public proto::Driver::Service {
 public:
  grpc::Status FetchBinary(grpc::ServerContext* ctx, const proto::FetchBinaryRequest*,
                           grpc::ServerWriter<proto::BinaryChunk>* writer) override {
    proto::BinaryChunk chunk;
    chunk.set_data(std::string(64 << 10, 'x'));
    while (!ctx->IsCancelled() && writer->Write(chunk)) {
    }
    return grpc::Status(grpc::StatusCode::CANCELLED, "caller went away");
  }
};

TEST_CASE("driver client: a binary download past the declared size is cut off", "[driver-client]") {
  EndlessDriver driver;
  auto server = rpc::StartServer({.host = "127.0.0.1", .port = 0}, {&driver});
  REQUIRE_OK(server.status());
  test::TempDir dir;
  DriverClient client({.address = StrCat("127.0.0.1:", server->port),
                       .fetch_timeout = std::chrono::seconds(30),
                       .max_binary_bytes = 1 << 20});
  proto::FetchBinaryRequest request;
  request.set_app_id("app-20260101000000-0000");
  request.set_digest(std::string(64, 'a'));
  absl::Status status = client.FetchBinary(request, dir.Sub("binary"));
  CHECK(absl::IsResourceExhausted(status));
  CHECK_THAT(std::string(status.message()), Catch::Contains("more than the 1048576 bytes"));
  // What arrived within the bound stays (the binary cache drops it: not resumable).
  CHECK(std::filesystem::file_size(dir.Sub("binary")) <= (1u << 20));
  server->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
}

// Sends one chunk, then nothing until the caller goes away (a driver that hangs).
class StallingDriver final : public proto::Driver::Service {
 public:
  grpc::Status FetchBinary(grpc::ServerContext* ctx, const proto::FetchBinaryRequest*,
                           grpc::ServerWriter<proto::BinaryChunk>* writer) override {
    proto::BinaryChunk chunk;
    chunk.set_data("first bytes");
    writer->Write(chunk);
    absl::MutexLock lock(&mu_);
    while (!ctx->IsCancelled()) never_.WaitWithTimeout(&mu_, absl::Milliseconds(10));
    return grpc::Status(grpc::StatusCode::CANCELLED, "caller went away");
  }

 private:
  absl::Mutex mu_;
  absl::CondVar never_;
};

TEST_CASE("driver client: a binary download that stalls is abandoned after stall_timeout",
          "[driver-client]") {
  StallingDriver driver;
  auto server = rpc::StartServer({.host = "127.0.0.1", .port = 0}, {&driver});
  REQUIRE_OK(server.status());
  test::TempDir dir;
  DriverClient client({.address = StrCat("127.0.0.1:", server->port),
                       .fetch_timeout = std::chrono::seconds(120),
                       .stall_timeout = std::chrono::milliseconds(300)});
  proto::FetchBinaryRequest request;
  request.set_digest(std::string(64, 'b'));
  const auto start = std::chrono::steady_clock::now();
  absl::Status status = client.FetchBinary(request, dir.Sub("binary"));
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(absl::IsDeadlineExceeded(status));
  CHECK_THAT(std::string(status.message()), Catch::Contains("sent nothing for 300 ms"));
  // Far below the whole fetch's deadline (a generous bound, not a timing test).
  CHECK(took < std::chrono::seconds(60));
  auto kept = ReadFile(dir.Sub("binary"));  // the chunk that arrived, for a resume
  REQUIRE_OK(kept);
  CHECK(*kept == "first bytes");
  server->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
}

// Serves kBinary from the request's offset, in 7-byte chunks.
class OffsetDriver final : public proto::Driver::Service {
 public:
  static constexpr std::string_view kBinary = "0123456789abcdefghijklmnopqrstuvwxyz";
  grpc::Status FetchBinary(grpc::ServerContext*, const proto::FetchBinaryRequest* request,
                           grpc::ServerWriter<proto::BinaryChunk>* writer) override {
    offsets.push_back(request->offset());
    proto::BinaryChunk chunk;
    for (auto at = static_cast<size_t>(request->offset()); at < kBinary.size(); at += 7) {
      chunk.set_data(std::string(kBinary.substr(at, 7)));
      writer->Write(chunk);
    }
    return grpc::Status::OK;
  }
  std::vector<int64_t> offsets;  // one call at a time in this test
};

TEST_CASE("driver client: a binary download resumes after the bytes it is told to skip",
          "[driver-client]") {
  OffsetDriver driver;
  auto server = rpc::StartServer({.host = "127.0.0.1", .port = 0}, {&driver});
  REQUIRE_OK(server.status());
  test::TempDir dir;
  DriverClient client({.address = StrCat("127.0.0.1:", server->port)});
  const std::string path = dir.Sub("binary");
  proto::FetchBinaryRequest request;
  request.set_digest(std::string(64, 'c'));
  // A fresh download, then one resumed at byte 10 over a file that holds more than that
  // (a torn write): it is cut to 10 bytes first.
  REQUIRE_OK(client.FetchBinary(request, path));
  CHECK(*ReadFile(path) == OffsetDriver::kBinary);
  REQUIRE_OK(WriteFileAtomic(path, "0123456789GARBAGE"));
  request.set_offset(10);
  REQUIRE_OK(client.FetchBinary(request, path));
  CHECK(*ReadFile(path) == OffsetDriver::kBinary);
  CHECK(driver.offsets == std::vector<int64_t>{0, 10});
  server->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
}

}  // namespace
}  // namespace kiln
