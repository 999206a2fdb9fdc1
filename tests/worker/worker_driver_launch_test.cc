// Integration: a real kiln-worker runs a driver (cluster deploy mode) for an in-process
// fake master that serves the driver's binary and records the reports. Covers the
// worker token on LaunchDriver/KillDriver and on the binary fetch, RUNNING and KILLED
// reports, the driver in the UI and in a re-registration (and its dir not among the
// app dirs), and a worker stop that ends a driver without reporting it.

#include <unistd.h>

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/clients/worker_client.h"
#include "common/files.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/rpc.h"
#include "common/rpc_security.h"
#include "common/strings.h"
#include "common/wait.h"
#include "nlohmann/json.hpp"
#include "proto/master.grpc.pb.h"
#include "tests/kiln_catch.h"
#include "tests/support/processes.h"
#include "tests/support/test_util.h"
#include "tests/worker/daemon_process.h"

namespace kiln::test {
namespace {

// A driver that notes its pid and waits to be stopped.
const std::string kWaitingDriverScript = R"(#!/bin/sh
printf '%s' "$KILN_DRIVER_ID" > id.txt
echo $$ > pid.txt
exec sleep 60
)";

// A master that knows one driver binary and obeys only the worker that registered.
class DriverHostingMaster final : public proto::Master::Service {
 public:
  DriverHostingMaster(std::string digest, std::string binary)
      : digest_(std::move(digest)), binary_(std::move(binary)) {}

  grpc::Status RegisterWorker(grpc::ServerContext*, const proto::RegisterWorkerRequest* req,
                              proto::RegisterWorkerReply* reply) override {
    absl::MutexLock lock(&mu_);
    registrations_.push_back(*req);
    reply->set_master_id("fake-master");
    return grpc::Status::OK;
  }
  grpc::Status WorkerHeartbeat(grpc::ServerContext*, const proto::WorkerHeartbeatRequest*,
                               proto::WorkerHeartbeatReply* reply) override {
    absl::MutexLock lock(&mu_);
    reply->set_reregister(reregister_);
    reregister_ = false;
    return grpc::Status::OK;
  }
  grpc::Status DriverStateChanged(grpc::ServerContext*, const proto::DriverStateChangedRequest* req,
                                  proto::DriverStateChangedReply*) override {
    absl::MutexLock lock(&mu_);
    reports_.push_back(*req);
    return grpc::Status::OK;
  }
  grpc::Status FetchDriverBinary(grpc::ServerContext*, const proto::FetchDriverBinaryRequest* req,
                                 grpc::ServerWriter<proto::DriverBinaryChunk>* writer) override {
    {
      absl::MutexLock lock(&mu_);
      fetches_.push_back(*req);
      if (registrations_.empty() || req->worker_token() != registrations_.front().worker_token()) {
        return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "not a registered worker");
      }
    }
    if (req->digest() != digest_) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no driver binary " + req->digest());
    }
    proto::DriverBinaryChunk chunk;
    chunk.set_data(binary_);
    writer->Write(chunk);
    return grpc::Status::OK;
  }

  void AskToReregister() {
    absl::MutexLock lock(&mu_);
    reregister_ = true;
  }
  std::vector<proto::RegisterWorkerRequest> registrations() {
    absl::MutexLock lock(&mu_);
    return registrations_;
  }
  std::vector<proto::FetchDriverBinaryRequest> fetches() {
    absl::MutexLock lock(&mu_);
    return fetches_;
  }
  std::vector<proto::DriverStateChangedRequest> Reports(const std::string& driver_id) {
    absl::MutexLock lock(&mu_);
    std::vector<proto::DriverStateChangedRequest> out;
    for (const auto& r : reports_) {
      if (r.driver_id() == driver_id) out.push_back(r);
    }
    return out;
  }
  bool WaitForDriverState(const std::string& driver_id, proto::DriverState state) {
    return WaitFor(
        [&] {
          for (const auto& r : Reports(driver_id)) {
            if (r.state() == state) return true;
          }
          return false;
        },
        kTimeout);
  }

 private:
  const std::string digest_;
  const std::string binary_;
  absl::Mutex mu_;
  std::vector<proto::RegisterWorkerRequest> registrations_ ABSL_GUARDED_BY(mu_);
  std::vector<proto::FetchDriverBinaryRequest> fetches_ ABSL_GUARDED_BY(mu_);
  std::vector<proto::DriverStateChangedRequest> reports_ ABSL_GUARDED_BY(mu_);
  bool reregister_ ABSL_GUARDED_BY(mu_) = false;
};

proto::LaunchDriverRequest DriverLaunchFor(const std::string& driver_id, const std::string& digest,
                                           const std::string& token) {
  proto::LaunchDriverRequest r;
  r.set_driver_id(driver_id);
  r.set_name("waiting");
  r.set_cores(1);
  r.set_memory_mb(512);
  r.set_binary_digest(digest);
  r.set_binary_size(static_cast<int64_t>(kWaitingDriverScript.size()));
  r.set_conf("kiln.app.name=waiting\n");
  r.set_worker_token(token);
  return r;
}

// The pid the driver in `dir` wrote; 0 until it has.
pid_t DriverPid(const std::string& dir) {
  auto text = ReadFile(dir + "/pid.txt");
  int pid = 0;
  if (!text.ok() || !ParseNumber(StripWhitespace(*text), &pid)) return 0;
  return pid;
}

TEST_CASE("a worker runs, reports, lists and kills drivers for its master",
          "[worker][integration]") {
  TempDir dir;
  REQUIRE_OK(WriteFileAtomic(dir.Sub("script"), kWaitingDriverScript));
  auto digest = Sha256File(dir.Sub("script"));
  REQUIRE_OK(digest);
  DriverHostingMaster master(*digest, kWaitingDriverScript);
  auto master_server = rpc::StartServer({.host = "127.0.0.1", .port = 0}, {&master});
  REQUIRE_OK(master_server);
  const std::string work = dir.Sub("work");
  DaemonProcess worker(
      {kBin + "/kiln-worker", "--master", StrCat("kiln://127.0.0.1:", master_server->port),
       "--port", "0", "--ui-port", "0", "--cores", "4", "--memory", "4g", "--work-dir", work,
       "--ready-file", dir.Sub("worker.ready"), "--conf", "kiln.worker.heartbeatInterval=100ms"},
      dir.Sub("worker.log"));
  REQUIRE_OK(worker.Start());
  auto ports = worker.WaitReady(dir.Sub("worker.ready"), kTimeout);
  REQUIRE_OK(ports);
  INFO("worker log:\n" << worker.LogTail(60));
  REQUIRE(WaitFor([&] { return !master.registrations().empty(); }, kTimeout));
  const proto::RegisterWorkerRequest reg = master.registrations().front();
  const std::string token = reg.worker_token();
  CHECK(reg.drivers().empty());

  WorkerClient client({.address = StrCat("127.0.0.1:", ports->at("grpc_port"))});
  const std::string id = "driver-20240101000000-0001";
  // Only the master it registered with starts or stops drivers.
  CHECK(absl::IsPermissionDenied(client.LaunchDriver(DriverLaunchFor(id, *digest, "forged"))));
  CHECK(absl::IsPermissionDenied(client.KillDriver(id, std::string(64, '0'))));
  proto::LaunchDriverRequest bad = DriverLaunchFor(id, *digest, token);
  bad.set_memory_mb(0);
  absl::Status refused = client.LaunchDriver(bad);
  CHECK(absl::IsInvalidArgument(refused));
  CHECK(Message(refused).find("memory_mb") != std::string::npos);

  REQUIRE_OK(client.LaunchDriver(DriverLaunchFor(id, *digest, token)));
  REQUIRE(master.WaitForDriverState(id, proto::DRIVER_RUNNING));
  const auto running = master.Reports(id).front();
  CHECK(running.worker_id() == reg.worker_id());
  CHECK(running.worker_token() == token);
  CHECK(running.attempt() == 0);
  const auto fetches = master.fetches();
  REQUIRE(fetches.size() == 1);
  CHECK(fetches[0].worker_id() == reg.worker_id());
  CHECK(fetches[0].digest() == *digest);
  const std::string driver_dir = work + "/" + id;
  REQUIRE(WaitFor([&] { return DriverPid(driver_dir) > 0; }, kTimeout));
  CHECK(*ReadFile(driver_dir + "/id.txt") == id);
  const pid_t driver_pid = DriverPid(driver_dir);

  // The UI lists it, and counts its resources as used.
  auto json = nlohmann::json::parse(*HttpGet("127.0.0.1", ports->at("ui_port"), "/json"));
  REQUIRE(json["drivers"].size() == 1);
  CHECK(json["drivers"][0]["id"] == id);
  CHECK(json["drivers"][0]["state"] == "RUNNING");
  CHECK(json["coresused"] == 1);
  CHECK(json["memoryused"] == 512);

  // Asked to register again, the worker declares it; its dir is no application's.
  REQUIRE_OK(MakeDirs(work + "/app-20240101000000-0005"));
  master.AskToReregister();
  REQUIRE(WaitFor([&] { return master.registrations().size() == 2; }, kTimeout));
  const proto::RegisterWorkerRequest again = master.registrations().back();
  REQUIRE(again.drivers_size() == 1);
  CHECK(again.drivers(0).driver_id() == id);
  CHECK(again.drivers(0).cores() == 1);
  CHECK(again.drivers(0).memory_mb() == 512);
  CHECK(std::vector<std::string>(again.app_dirs().begin(), again.app_dirs().end()) ==
        std::vector<std::string>{"app-20240101000000-0005"});

  REQUIRE_OK(client.KillDriver(id, token));
  REQUIRE(master.WaitForDriverState(id, proto::DRIVER_KILLED));
  CHECK(WaitFor([&] { return !ProcessAlive(driver_pid); }, kTimeout));
  REQUIRE_OK(client.KillDriver(id, token));  // a retried kill: nothing more happens
  CHECK(access((driver_dir + "/stdout").c_str(), F_OK) == 0);  // its dir stays

  // A worker that stops ends its drivers without reporting them: the master decides.
  const std::string second = "driver-20240101000000-0002";
  REQUIRE_OK(client.LaunchDriver(DriverLaunchFor(second, *digest, token)));
  REQUIRE(master.WaitForDriverState(second, proto::DRIVER_RUNNING));
  REQUIRE(WaitFor([&] { return DriverPid(work + "/" + second) > 0; }, kTimeout));
  const pid_t second_pid = DriverPid(work + "/" + second);
  auto exit = worker.Terminate(kTimeout);
  REQUIRE(exit.has_value());
  CHECK(exit->code() == 0);
  CHECK(!ProcessAlive(second_pid));
  CHECK(master.Reports(second).size() == 1);
  CHECK(master.fetches().size() == 1);  // the second came from the worker's cache
}

}  // namespace
}  // namespace kiln::test
