// The driver's gRPC service on 127.0.0.1: binary fetch by digest and the executor
// registration handshake, including the refusal of a different binary.

#include "driver/driver_service.h"

#include <fstream>

#include "common/rpc.h"
#include "common/wait.h"
#include "tests/kiln_catch.h"

namespace kiln::internal {
namespace {

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
    service->SetAppId("app-1");
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

  proto::DriverMessage Register(
      grpc::ClientReaderWriter<proto::ExecutorMessage, proto::DriverMessage>* stream,
      const std::string& digest) {
    proto::ExecutorMessage hello;
    hello.mutable_register_()->set_app_id("app-1");
    hello.mutable_register_()->set_executor_id(7);
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
  CHECK(f.service->connected() == 0);
}

TEST_CASE("driver service: the binary is served by digest, in chunks", "[driver-service]") {
  Fixture f;
  {
    grpc::ClientContext ctx;
    proto::FetchBinaryRequest request;
    request.set_digest("abc123");
    auto reader = f.stub->FetchBinary(&ctx, request);
    proto::BinaryChunk chunk;
    std::string all;
    int chunks = 0;
    while (reader->Read(&chunk)) {
      all += chunk.data();
      ++chunks;
    }
    REQUIRE(reader->Finish().ok());
    CHECK(chunks == 4);
    CHECK(all.size() == (3u << 20) + 4);
    CHECK(all.ends_with("tail"));
  }
  grpc::ClientContext ctx;
  proto::FetchBinaryRequest request;
  request.set_digest("nope");
  auto reader = f.stub->FetchBinary(&ctx, request);
  proto::BinaryChunk chunk;
  while (reader->Read(&chunk)) {
  }
  CHECK(reader->Finish().error_code() == grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace kiln::internal
