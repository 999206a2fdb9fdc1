#include "tests/jobs/rpc_probe.h"

#include <sys/stat.h>

#include <chrono>

#include "common/strings.h"
#include "grpcpp/generic/generic_stub.h"
#include "tests/jobs/job_util.h"
#include "tests/kiln_catch.h"

namespace kiln::test::jobs {

std::string WriteSecretFile(const TempDir& dir, const std::string& secret) {
  const std::string path = dir.Sub("secret");
  WriteTestFile(path, secret + "\n");
  chmod(path.c_str(), 0600);
  return path;
}

grpc::Status CallRaw(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                     const std::string& request) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto next = [&cq] {
    void* tag = nullptr;
    bool ok = false;
    cq.Next(&tag, &ok);
    return ok;
  };
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call = stub.PrepareCall(&ctx, method, &cq);
  call->StartCall(reinterpret_cast<void*>(1));
  next();
  grpc::Slice slice(request);
  grpc::ByteBuffer message(&slice, 1);
  call->Write(message, reinterpret_cast<void*>(2));
  next();
  call->WritesDone(reinterpret_cast<void*>(3));
  next();
  grpc::ByteBuffer reply;
  do {
    call->Read(&reply, reinterpret_cast<void*>(4));
  } while (next());
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  next();
  cq.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (cq.Next(&tag, &ok)) {
  }
  return status;
}

std::string AddressOf(const std::vector<Target>& targets, std::string_view method) {
  for (const Target& t : targets) {
    if (method.starts_with(StrCat("/", t.service, "/"))) return t.address;
  }
  return "";
}

InProcessDriver::InProcessDriver(const TempDir& dir, std::shared_ptr<const rpc::Security> security,
                                 const std::string& app_id, const std::string& app_token)
    : tasks_({}) {
  const std::string binary = dir.Sub("binary");
  WriteTestFile(binary, "not really a program");
  service_ = std::make_unique<internal::DriverService>(
      internal::DriverServiceOptions{.binary_path = binary,
                                     .binary_digest = "abc123",
                                     .conf = "",
                                     .network_timeout = std::chrono::seconds(10)},
      &tasks_);
  service_->SetAppId(app_id, app_token);
  absl::StatusOr<rpc::RunningServer> server = rpc::StartServer(
      {.host = "127.0.0.1", .port = 0, .security = std::move(security)}, {service_.get()});
  REQUIRE_OK(server.status());
  server_ = *std::move(server);
}

InProcessDriver::~InProcessDriver() {
  tasks_.Stop("test over");
  server_.server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
}

}  // namespace kiln::test::jobs
