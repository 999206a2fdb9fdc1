// The driver's gRPC service on 127.0.0.1: binary fetch by digest and the executor
// registration handshake, including the refusal of a different binary.

#include "driver/driver_service.h"

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "common/rpc.h"
#include "common/rpc_security.h"
#include "common/wait.h"
#include "tests/kiln_catch.h"

namespace kiln::internal {
namespace {

constexpr char kAppToken[] = "token-of-app-1";

struct Fixture {
  Fixture() : tasks({}) {
    char templ[] = "/tmp/kiln-driver-svc-XXXXXX";
    int fd = mkstemp(templ);
    close(fd);
    binary = templ;
    std::ofstream(binary) << std::string(3 << 20, 'x') << "tail";
    service = std::make_unique<DriverService>(
        DriverServiceOptions{.binary_path = binary,
                             .binary_digest = "abc123",
                             .conf = "kiln.task.maxFailures=3\n",
                             .network_timeout = std::chrono::seconds(10),
                             .clock = &clock},
        &tasks);
    service->SetAppId("app-1", kAppToken);
    auto running = rpc::StartServer({.host = "127.0.0.1", .port = 0}, {service.get()});
    REQUIRE(running.ok());
    server = std::move(running->server);
    stub = proto::Driver::NewStub(rpc::MakeChannel("127.0.0.1:" + std::to_string(running->port)));
  }
  ~Fixture() {
    tasks.Stop("test over");
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    std::remove(binary.c_str());
  }

  // Registers executor 7, with the token the master made for it unless `token` is given.
  proto::DriverMessage Register(
      grpc::ClientReaderWriter<proto::ExecutorMessage, proto::DriverMessage>* stream,
      const std::string& digest, const std::string& token = rpc::ExecutorToken(kAppToken, 7)) {
    proto::ExecutorMessage hello;
    hello.mutable_register_()->set_app_id("app-1");
    hello.mutable_register_()->set_executor_id(7);
    hello.mutable_register_()->set_executor_token(token);
    hello.mutable_register_()->set_cores(2);
    hello.mutable_register_()->set_host("127.0.0.1");
    hello.mutable_register_()->set_binary_digest(digest);
    REQUIRE(stream->Write(hello));
    proto::DriverMessage reply;
    REQUIRE(stream->Read(&reply));
    return reply;
  }

  std::string binary;
  FakeClock clock;  // for the liveness checks only
  TaskScheduler tasks;
  std::unique_ptr<DriverService> service;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<proto::Driver::Stub> stub;
};

TEST_CASE("driver service: an executor of another build is refused, naming the digests",
          "[driver-service]") {
  Fixture f;
  grpc::ClientContext ctx;
  auto stream = f.stub->Connect(&ctx);
  proto::DriverMessage reply = f.Register(stream.get(), "different");
  REQUIRE(reply.has_shutdown());
  CHECK(reply.shutdown().reason().find("digest different differs from the driver's abc123") !=
        std::string::npos);
  CHECK(f.tasks.ExecutorCount() == 0);
}

TEST_CASE("driver service: a matching executor registers and gets the settings",
          "[driver-service]") {
  Fixture f;
  grpc::ClientContext ctx;
  auto stream = f.stub->Connect(&ctx);
  proto::DriverMessage reply = f.Register(stream.get(), "abc123");
  REQUIRE(reply.has_registered());
  CHECK(reply.registered().conf() == "kiln.task.maxFailures=3\n");
  CHECK(f.tasks.WaitForCores(2, std::chrono::seconds(10)));
  // Closing the stream removes the executor.
  stream->WritesDone();
  f.service->ShutdownExecutors("test");
  CHECK(f.tasks.ExecutorCount() == 0);
}

TEST_CASE(
    "driver service: an executor that registers while the application ends is told to exit "
    "at once",
    "[driver-service]") {
  Fixture f;
  // The application ends with no executor connected; then a late one registers (its
  // launch was under way). Before, it joined the list that ShutdownExecutors had already
  // walked, and the driver waited 5 s for its stream.
  f.service->ShutdownExecutors("application FINISHED");
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto stream = f.stub->Connect(&ctx);
  REQUIRE(f.Register(stream.get(), "abc123").has_registered());
  proto::DriverMessage message;
  REQUIRE(stream->Read(&message));
  REQUIRE(message.has_shutdown());
  CHECK(message.shutdown().reason() == "application FINISHED");
  CHECK_FALSE(stream->Read(&message));  // and its stream ends
  CHECK(stream->Finish().ok());
  CHECK(f.tasks.ExecutorCount() == 0);
  // The client sees the end before the server's handler has returned: poll.
  CHECK(WaitFor([&] { return f.service->connected() == 0; }, std::chrono::seconds(10)));
}

TEST_CASE(
    "driver service: an executor silent past kiln.network.timeout is lost and its stream "
    "ended while messages keep it alive",
    "[driver-service]") {
  Fixture f;
  grpc::ClientContext ctx;
  auto stream = f.stub->Connect(&ctx);
  REQUIRE(f.Register(stream.get(), "abc123").has_registered());
  REQUIRE(f.tasks.WaitForCores(2, std::chrono::seconds(10)));

  f.clock.Advance(std::chrono::seconds(9));
  f.service->ExpireSilentExecutors();
  CHECK(f.tasks.ExecutorCount() == 1);  // 9 s silent: within the 10 s
  proto::ExecutorMessage heartbeat;
  heartbeat.mutable_heartbeat();
  REQUIRE(stream->Write(heartbeat));
  const auto heard = f.clock.Now();
  REQUIRE(WaitFor([&] { return f.service->LastSeen("7") == heard; }, std::chrono::seconds(10)));
  f.clock.Advance(std::chrono::seconds(9));
  f.service->ExpireSilentExecutors();
  CHECK(f.tasks.ExecutorCount() == 1);

  f.clock.Advance(std::chrono::seconds(11));
  f.service->ExpireSilentExecutors();
  CHECK(f.tasks.ExecutorCount() == 0);
  // Its stream is ended: the executor reads the end (and would exit).
  proto::DriverMessage message;
  CHECK_FALSE(stream->Read(&message));
  CHECK(stream->Finish().error_code() == grpc::StatusCode::CANCELLED);
  // The client sees the end before the server's handler has returned: poll.
  CHECK(WaitFor([&] { return f.service->connected() == 0; }, std::chrono::seconds(10)));
}

TEST_CASE("driver service: the binary is served by digest, in chunks", "[driver-service]") {
  Fixture f;
  // Reads the binary from byte `offset` on: its chunks and the call's status.
  auto read_from = [&](int64_t offset, std::vector<std::string>* chunks) {
    grpc::ClientContext ctx;
    proto::FetchBinaryRequest request;
    request.set_app_id("app-1");
    request.set_digest("abc123");
    request.set_executor_id(3);
    request.set_executor_token(rpc::ExecutorToken(kAppToken, 3));
    request.set_offset(offset);
    auto reader = f.stub->FetchBinary(&ctx, request);
    proto::BinaryChunk chunk;
    while (reader->Read(&chunk)) chunks->push_back(chunk.data());
    return reader->Finish();
  };
  std::vector<std::string> chunks;
  REQUIRE(read_from(0, &chunks).ok());
  CHECK(chunks.size() == 4);
  const std::string all = absl::StrJoin(chunks, "");
  CHECK(all.size() == (3u << 20) + 4);
  CHECK(all.ends_with("tail"));
  // From an offset (a download cut short resumes): the bytes after it; past the end,
  // OUT_OF_RANGE.
  chunks.clear();
  REQUIRE(read_from((3 << 20) + 2, &chunks).ok());
  CHECK(chunks == std::vector<std::string>{"il"});
  chunks.clear();
  CHECK(read_from((3 << 20) + 5, &chunks).error_code() == grpc::StatusCode::OUT_OF_RANGE);
  CHECK(chunks.empty());
  // A digest it does not serve: NOT_FOUND, without naming the one it serves.
  auto fetch = [&](const std::string& digest, int executor, const std::string& token) {
    grpc::ClientContext ctx;
    proto::FetchBinaryRequest request;
    request.set_app_id("app-1");
    request.set_digest(digest);
    request.set_executor_id(executor);
    request.set_executor_token(token);
    auto reader = f.stub->FetchBinary(&ctx, request);
    proto::BinaryChunk chunk;
    int chunks = 0;
    while (reader->Read(&chunk)) ++chunks;
    grpc::Status status = reader->Finish();
    CHECK(chunks == 0);
    return status;
  };
  grpc::Status nope = fetch("nope", 3, rpc::ExecutorToken(kAppToken, 3));
  CHECK(nope.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(nope.error_message().find("abc123") == std::string::npos);
  // Only for executors the master granted: no token, another executor's, a forged one.
  for (const std::string& token :
       {std::string(), rpc::ExecutorToken(kAppToken, 4), rpc::ExecutorToken("other", 3)}) {
    grpc::Status denied = fetch("abc123", 3, token);
    CHECK(denied.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK(denied.error_message().find("abc123") == std::string::npos);
  }
}

TEST_CASE(
    "driver service: an executor the master did not grant is refused, and its failure "
    "reports are ignored",
    "[driver-service]") {
  Fixture f;
  for (const std::string& token : {std::string(), rpc::ExecutorToken(kAppToken, 8)}) {
    grpc::ClientContext ctx;
    auto stream = f.stub->Connect(&ctx);
    proto::DriverMessage reply = f.Register(stream.get(), "abc123", token);
    REQUIRE(reply.has_shutdown());
    CHECK(reply.shutdown().reason().find("not granted") != std::string::npos);
    // Refused before the digest check: the reason does not reveal the driver's binary.
    CHECK(reply.shutdown().reason().find("abc123") == std::string::npos);
  }
  CHECK(f.tasks.ExecutorCount() == 0);
  grpc::ClientContext ctx;
  proto::ExecutorFailedRequest failed;
  failed.set_app_id("app-1");
  failed.set_executor_id(7);
  failed.set_executor_token("forged");
  proto::ExecutorFailedReply reply;
  CHECK(f.stub->ExecutorFailed(&ctx, failed, &reply).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace kiln::internal
