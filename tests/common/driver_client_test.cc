// DriverClient against a driver service on 127.0.0.1: a binary download stops at the
// size the driver declared, and leaves no file behind.
#include "common/clients/driver_client.h"

#include <unistd.h>

#include <filesystem>
#include <string>

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
  CHECK(access(dir.Sub("binary").c_str(), F_OK) != 0);
  CHECK(std::filesystem::is_empty(dir.path()));  // no temporary file either
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
  CHECK(std::filesystem::is_empty(dir.path()));
  server->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
}

}  // namespace
}  // namespace kiln
