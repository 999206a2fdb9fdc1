// Integration: a real kiln-worker process between an in-process fake master and fake
// driver. Covers registration, binary fetch (once per digest), the executor argv
// contract, exit reporting (EXITED / FAILED with stderr / KILLED), shuffle serving over
// gRPC, application cleanup and shutdown (also with the master gone), and launches
// cancelled while their binary is being fetched.

#include <signal.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/clients/worker_client.h"
#include "common/files.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/rpc.h"
#include "common/shuffle_files.h"
#include "nlohmann/json.hpp"
#include "proto/driver.grpc.pb.h"
#include "proto/master.grpc.pb.h"
#include "tests/kiln_catch.h"
#include "tests/support/processes.h"
#include "tests/support/test_util.h"
#include "tests/worker/daemon_process.h"

namespace kiln::test {
namespace {

const std::string kFakeExecutor = KILN_FAKE_EXECUTOR;

class FakeMaster final : public proto::Master::Service {
 public:
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
    ++heartbeats_;
    reply->set_reregister(reregister_);
    reregister_ = false;
    return grpc::Status::OK;
  }
  // The next heartbeat reply asks the worker to register again (as a restarted master).
  void AskToReregister() {
    absl::MutexLock lock(&mu_);
    reregister_ = true;
  }
  grpc::Status ExecutorStateChanged(grpc::ServerContext*,
                                    const proto::ExecutorStateChangedRequest* req,
                                    proto::ExecutorStateChangedReply*) override {
    absl::MutexLock lock(&mu_);
    changes_.push_back(*req);
    return grpc::Status::OK;
  }

  std::vector<proto::RegisterWorkerRequest> registrations() {
    absl::MutexLock lock(&mu_);
    return registrations_;
  }
  int heartbeats() {
    absl::MutexLock lock(&mu_);
    return heartbeats_;
  }
  // The state changes reported for one executor, in order.
  std::vector<proto::ExecutorStateChangedRequest> Changes(const std::string& app, int id) {
    absl::MutexLock lock(&mu_);
    std::vector<proto::ExecutorStateChangedRequest> out;
    for (const auto& c : changes_) {
      if (c.app_id() == app && c.executor_id() == id) out.push_back(c);
    }
    return out;
  }
  bool WaitForState(const std::string& app, int id, proto::ExecutorState state) {
    return WaitFor(
        [&] {
          for (const auto& c : Changes(app, id)) {
            if (c.state() == state) return true;
          }
          return false;
        },
        kTimeout);
  }

 private:
  absl::Mutex mu_;
  std::vector<proto::RegisterWorkerRequest> registrations_ ABSL_GUARDED_BY(mu_);
  std::vector<proto::ExecutorStateChangedRequest> changes_ ABSL_GUARDED_BY(mu_);
  int heartbeats_ ABSL_GUARDED_BY(mu_) = 0;
  bool reregister_ ABSL_GUARDED_BY(mu_) = false;
};

class FakeDriver final : public proto::Driver::Service {
 public:
  FakeDriver(std::string binary, std::string digest)
      : binary_(std::move(binary)), digest_(std::move(digest)) {}
  grpc::Status FetchBinary(grpc::ServerContext*, const proto::FetchBinaryRequest* req,
                           grpc::ServerWriter<proto::BinaryChunk>* writer) override {
    {
      absl::MutexLock lock(&mu_);
      ++fetches_;
    }
    if (req->digest() != digest_) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no binary with digest " + req->digest());
    }
    auto bytes = ReadFile(binary_);
    if (!bytes.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "cannot read binary");
    proto::BinaryChunk chunk;
    for (size_t off = 0; off < bytes->size(); off += 64 * 1024) {
      chunk.set_data(bytes->substr(off, 64 * 1024));
      if (!writer->Write(chunk)) break;
    }
    return grpc::Status::OK;
  }
  int fetches() {
    absl::MutexLock lock(&mu_);
    return fetches_;
  }

 private:
  const std::string binary_;
  const std::string digest_;
  absl::Mutex mu_;
  int fetches_ ABSL_GUARDED_BY(mu_) = 0;
};

// A driver that never delivers its binary: it refuses (UNAVAILABLE, as a driver going
// away) or holds the call until the worker cancels it.
class StuckDriver final : public proto::Driver::Service {
 public:
  explicit StuckDriver(bool refuse) : refuse_(refuse) {}
  grpc::Status FetchBinary(grpc::ServerContext* ctx, const proto::FetchBinaryRequest*,
                           grpc::ServerWriter<proto::BinaryChunk>*) override {
    absl::MutexLock lock(&mu_);
    ++fetches_;
    if (refuse_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "driver going away");
    // gRPC's sync API has no cancellation callback: look every few ms.
    while (!ctx->IsCancelled()) cancelled_.WaitWithTimeout(&mu_, absl::Milliseconds(10));
    return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
  }
  int fetches() {
    absl::MutexLock lock(&mu_);
    return fetches_;
  }

 private:
  const bool refuse_;
  absl::Mutex mu_;
  absl::CondVar cancelled_;
  int fetches_ ABSL_GUARDED_BY(mu_) = 0;
};

// `token`: the worker's, as it registered with the (fake) master, which only the master
// knows: the worker obeys no launch without it.
proto::LaunchExecutorRequest Launch(const std::string& app, int id, const std::string& driver,
                                    const std::string& digest, const std::string& token) {
  proto::LaunchExecutorRequest r;
  r.set_worker_token(token);
  r.set_app_id(app);
  r.set_app_name("launch-test");
  r.set_executor_id(id);
  r.set_cores(1);
  r.set_memory_mb(256);
  r.set_driver_address(driver);
  r.set_binary_digest(digest);
  return r;
}

std::string LastMessage(FakeMaster& master, const std::string& app, int id) {
  auto changes = master.Changes(app, id);
  return changes.empty() ? "" : changes.back().message();
}

// The worker's argv against a master at `master_port`; ready file in `dir`.
std::vector<std::string> WorkerArgv(TempDir& dir, int master_port) {
  return {kBin + "/kiln-worker",
          "--master",
          StrCat("kiln://127.0.0.1:", master_port),
          "--port",
          "0",
          "--ui-port",
          "0",
          "--cores",
          "4",
          "--memory",
          "4g",
          "--work-dir",
          dir.Sub("work"),
          "--ready-file",
          dir.Sub("worker.ready"),
          "--conf",
          "kiln.worker.heartbeatInterval=100ms"};
}

// The executors in the worker's /json; -1 if it does not answer.
int ExecutorsInUi(int ui_port) {
  auto body = HttpGet("127.0.0.1", ui_port, "/json");
  if (!body.ok()) return -1;
  auto json = nlohmann::json::parse(*body, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json["executors"].is_array()) return -1;
  return static_cast<int>(json["executors"].size());
}

TEST_CASE("a worker launches, supervises and cleans up executors and serves shuffle blocks",
          "[worker][integration]") {
  TempDir dir;
  auto digest = Sha256File(kFakeExecutor);
  REQUIRE_OK(digest);
  FakeMaster master;
  FakeDriver driver(kFakeExecutor, *digest);
  auto master_server = rpc::StartServer({.host = "127.0.0.1", .port = 0}, {&master});
  REQUIRE_OK(master_server);
  auto driver_server = rpc::StartServer({.host = "127.0.0.1", .port = 0}, {&driver});
  REQUIRE_OK(driver_server);
  const std::string driver_address = StrCat("127.0.0.1:", driver_server->port);
  const std::string work = dir.Sub("work");

  DaemonProcess worker(
      {kBin + "/kiln-worker", "--master", StrCat("kiln://127.0.0.1:", master_server->port),
       "--port", "0", "--ui-port", "0", "--cores", "4", "--memory", "4g", "--work-dir", work,
       "--ready-file", dir.Sub("worker.ready"), "--conf", "kiln.worker.heartbeatInterval=100ms",
       "--conf", "kiln.shuffle.io.chunkSize=1k"},
      dir.Sub("worker.log"));
  REQUIRE_OK(worker.Start());
  auto ports = worker.WaitReady(dir.Sub("worker.ready"), kTimeout);
  REQUIRE_OK(ports);
  const int port = ports->at("grpc_port");
  INFO("worker log:\n" << worker.LogTail(60));

  REQUIRE(WaitFor([&] { return !master.registrations().empty() && master.heartbeats() >= 2; },
                  kTimeout));
  const proto::RegisterWorkerRequest reg = master.registrations().front();
  CHECK(reg.host() == "127.0.0.1");
  CHECK(reg.port() == port);
  CHECK(reg.ui_port() == ports->at("ui_port"));
  CHECK(reg.cores() == 4);
  CHECK(reg.memory_mb() == 4096);
  CHECK(reg.worker_id().ends_with(StrCat("-127.0.0.1-", port)));
  const std::string token = reg.worker_token();
  CHECK(token.size() == 64);

  WorkerClient client({.address = StrCat("127.0.0.1:", port)});
  const std::string app = "app-20240101000000-0001";
  for (int id : {0, 1, 2}) {
    REQUIRE_OK(client.LaunchExecutor(Launch(app, id, driver_address, *digest, token)));
  }
  CHECK(
      absl::IsAlreadyExists(client.LaunchExecutor(Launch(app, 0, driver_address, *digest, token))));
  CHECK(absl::IsInvalidArgument(
      client.LaunchExecutor(Launch("../escape", 5, driver_address, *digest, token))));
  // Only the master it registered with (which holds its token) commands a worker.
  for (const std::string& forged : {std::string(), std::string(64, '0')}) {
    CHECK(absl::IsPermissionDenied(
        client.LaunchExecutor(Launch(app, 9, driver_address, *digest, forged))));
    CHECK(absl::IsPermissionDenied(client.KillExecutor(app, 0, forged)));
    CHECK(absl::IsPermissionDenied(client.ApplicationFinished(app, false, forged)));
  }

  REQUIRE(master.WaitForState(app, 0, proto::EXECUTOR_RUNNING));
  REQUIRE(master.WaitForState(app, 1, proto::EXECUTOR_FAILED));
  REQUIRE(master.WaitForState(app, 2, proto::EXECUTOR_EXITED));
  CHECK(driver.fetches() == 1);

  {  // the reports of the executors that ended by themselves
    // 1 died before it reached a driver: never RUNNING, so that such deaths count as
    // failures in a row at the master.
    auto failed = master.Changes(app, 1);
    REQUIRE(failed.size() == 1);
    CHECK(failed[0].state() == proto::EXECUTOR_FAILED);
    CHECK(failed[0].exit_code() == 3);
    CHECK(failed[0].message().find("exit code 3") != std::string::npos);
    CHECK(failed[0].message().find("fatal: boom") != std::string::npos);
    auto exited = master.Changes(app, 2);
    REQUIRE(exited.size() == 2);
    CHECK(exited[0].state() == proto::EXECUTOR_RUNNING);
    CHECK(exited[1].exit_code() == 0);
  }

  // The argv contract, as the executor saw it.
  const std::string app_dir = work + "/" + app;
  const std::string argv_path = app_dir + "/executor-0/argv";
  REQUIRE(WaitFor([&] { return ReadFile(argv_path).ok(); }, kTimeout));
  std::vector<std::string> expected{
      work + "/binaries/" + *digest,
      "--kiln-executor",
      "--driver=" + driver_address,
      "--app-id=" + app,
      "--executor-id=0",
      "--cores=1",
      "--memory-mb=256",
      "--worker-id=" + reg.worker_id(),
      "--host=127.0.0.1",
      StrCat("--shuffle-address=127.0.0.1:", port),
      "--app-dir=" + app_dir,
      "--credentials-on-stdin=true",
  };
  std::vector<std::string> seen;
  const std::string argv_text = *ReadFile(argv_path);
  for (std::string_view line : Split(argv_text, '\n', /*skip_empty=*/true)) {
    seen.emplace_back(line);
  }
  CHECK(seen == expected);
  CHECK(ReadFile(app_dir + "/executor-0/stdout").ok());
  CHECK(ReadFile(app_dir + "/executor-1/stderr")->find("fatal: boom") != std::string::npos);

  // The UI shows the running executor.
  auto json = nlohmann::json::parse(*HttpGet("127.0.0.1", ports->at("ui_port"), "/json"));
  REQUIRE(json["executors"].size() == 1);
  CHECK(json["executors"][0]["appid"] == app);
  CHECK(json["executors"][0]["state"] == "RUNNING");
  CHECK(json["coresused"] == 1);
  CHECK(json["memoryused"] == 256);
  const pid_t executor_pid = json["executors"][0]["pid"];
  CHECK(ProcessAlive(executor_pid));

  // Asked to register again, the worker declares its running executor.
  master.AskToReregister();
  REQUIRE(WaitFor([&] { return master.registrations().size() == 2; }, kTimeout));
  const proto::RegisterWorkerRequest again = master.registrations().back();
  CHECK(again.worker_id() == reg.worker_id());
  REQUIRE(again.executors_size() == 1);
  CHECK(again.executors(0).app_id() == app);
  CHECK(again.executors(0).executor_id() == 0);
  CHECK(again.executors(0).cores() == 1);
  CHECK(again.executors(0).memory_mb() == 256);

  // Shuffle blocks over gRPC, in chunks of 1k.
  std::string block(5000, '\0');
  for (size_t i = 0; i < block.size(); ++i) block[i] = static_cast<char>(i * 7);
  REQUIRE_OK(MakeDirs(ShuffleDir(app_dir)));
  REQUIRE_OK(WriteFileAtomic(ShuffleDataPath(app_dir, 0, 4), "xy" + block));
  REQUIRE_OK(WriteFileAtomic(ShuffleIndexPath(app_dir, 0, 4),
                             EncodeShuffleIndex({0, 2, 2 + block.size()})));
  proto::FetchShuffleBlocksRequest fetch;
  fetch.set_app_id(app);
  fetch.set_shuffle_id(0);
  fetch.set_reduce_id(1);
  fetch.add_map_ids(4);
  std::string got;
  int chunks = 0;
  REQUIRE_OK(client.FetchShuffleBlocks(fetch, kTimeout, [&](const proto::ShuffleChunk& c) {
    CHECK(c.map_id() == 4);
    CHECK(c.data().size() <= 1024);
    got += c.data();
    ++chunks;
    return absl::OkStatus();
  }));
  CHECK(got == block);
  CHECK(chunks == 5);
  fetch.add_map_ids(9);
  absl::Status missing = client.FetchShuffleBlocks(
      fetch, kTimeout, [](const proto::ShuffleChunk&) { return absl::OkStatus(); });
  CHECK(absl::IsNotFound(missing));
  CHECK(std::string(missing.message()).find("shuffle 0, map 9") != std::string::npos);

  // A digest the driver does not have: FAILED, naming it.
  const std::string wrong(64, 'e');
  REQUIRE_OK(client.LaunchExecutor(Launch(app, 7, driver_address, wrong, token)));
  REQUIRE(master.WaitForState(app, 7, proto::EXECUTOR_FAILED));
  CHECK(LastMessage(master, app, 7).find(wrong) != std::string::npos);

  // The application ends: its executor ends normally (EXITED, not KILLED), then its dir
  // goes.
  REQUIRE_OK(client.ApplicationFinished(app, false, token));
  REQUIRE(master.WaitForState(app, 0, proto::EXECUTOR_EXITED));
  CHECK(LastMessage(master, app, 0).starts_with("its application ended"));
  CHECK(WaitFor([&] { return !ProcessAlive(executor_pid); }, kTimeout));
  CHECK(WaitFor([&] { return access(app_dir.c_str(), F_OK) != 0; }, kTimeout));
  CHECK(absl::IsFailedPrecondition(
      client.LaunchExecutor(Launch(app, 8, driver_address, *digest, token))));
  REQUIRE_OK(client.ApplicationFinished("app-20240101000000-9999", false, token));  // idempotent
  // Only application ids: never another entry of the work dir, such as the binary cache.
  for (const char* id : {"..", "binaries", "app-", "app-1/../..", "app-1-", "app-x", "/etc"}) {
    CHECK(absl::IsInvalidArgument(client.ApplicationFinished(id, false, token)));
  }
  CHECK(access((work + "/binaries/" + *digest).c_str(), F_OK) == 0);  // the cache is intact

  // Shutdown stops running executors too, and reports them KILLED.
  const std::string app2 = "app-20240101000000-0002";
  REQUIRE_OK(client.LaunchExecutor(Launch(app2, 0, driver_address, *digest, token)));
  REQUIRE(master.WaitForState(app2, 0, proto::EXECUTOR_RUNNING));
  CHECK(driver.fetches() == 2);  // the wrong digest; the good one stayed cached
  auto exit = worker.Terminate(kTimeout);
  REQUIRE(exit.has_value());
  CHECK(exit->code() == 0);
  CHECK(master.WaitForState(app2, 0, proto::EXECUTOR_KILLED));
  CHECK(FindExecutorPids(dir.path()).empty());
}

TEST_CASE("a worker stops promptly on SIGTERM when the master is gone", "[worker][integration]") {
  TempDir dir;
  auto digest = Sha256File(kFakeExecutor);
  REQUIRE_OK(digest);
  FakeMaster master;
  FakeDriver driver(kFakeExecutor, *digest);
  auto master_server = rpc::StartServer({.host = "127.0.0.1", .port = 0}, {&master});
  REQUIRE_OK(master_server);
  auto driver_server = rpc::StartServer({.host = "127.0.0.1", .port = 0}, {&driver});
  REQUIRE_OK(driver_server);
  DaemonProcess worker(WorkerArgv(dir, master_server->port), dir.Sub("worker.log"));
  REQUIRE_OK(worker.Start());
  auto ports = worker.WaitReady(dir.Sub("worker.ready"), kTimeout);
  REQUIRE_OK(ports);
  INFO("worker log:\n" << worker.LogTail(60));
  REQUIRE(WaitFor([&] { return !master.registrations().empty(); }, kTimeout));
  const std::string token = master.registrations().front().worker_token();

  // A running executor, whose KILLED report at shutdown has no master to go to.
  const std::string app = "app-20240101000000-0003";
  WorkerClient client({.address = StrCat("127.0.0.1:", ports->at("grpc_port"))});
  REQUIRE_OK(client.LaunchExecutor(
      Launch(app, 0, StrCat("127.0.0.1:", driver_server->port), *digest, token)));
  REQUIRE(master.WaitForState(app, 0, proto::EXECUTOR_RUNNING));
  master_server->server->Shutdown(std::chrono::system_clock::now());
  master_server->server.reset();

  const auto start = std::chrono::steady_clock::now();
  auto exit = worker.Terminate(kTimeout);
  const auto took = std::chrono::steady_clock::now() - start;
  REQUIRE(exit.has_value());
  CHECK(exit->code() == 0);
  CHECK(took < std::chrono::seconds(3));
  CHECK(WaitFor([&] { return FindExecutorPids(dir.path()).empty(); }, kTimeout));
}

TEST_CASE("a finished application's launches are cancelled during the binary fetch",
          "[worker][integration]") {
  TempDir dir;
  FakeMaster master;
  StuckDriver silent(/*refuse=*/false);
  StuckDriver refusing(/*refuse=*/true);
  auto master_server = rpc::StartServer({.host = "127.0.0.1", .port = 0}, {&master});
  REQUIRE_OK(master_server);
  auto silent_server = rpc::StartServer({.host = "127.0.0.1", .port = 0}, {&silent});
  REQUIRE_OK(silent_server);
  auto refusing_server = rpc::StartServer({.host = "127.0.0.1", .port = 0}, {&refusing});
  REQUIRE_OK(refusing_server);
  DaemonProcess worker(WorkerArgv(dir, master_server->port), dir.Sub("worker.log"));
  REQUIRE_OK(worker.Start());
  auto ports = worker.WaitReady(dir.Sub("worker.ready"), kTimeout);
  REQUIRE_OK(ports);
  const int ui = ports->at("ui_port");
  INFO("worker log:\n" << worker.LogTail(60));
  REQUIRE(WaitFor([&] { return !master.registrations().empty(); }, kTimeout));
  const std::string token = master.registrations().front().worker_token();

  // Both launcher threads fetch (one from each driver); the third launch is queued.
  const std::string app_a = "app-20240101000000-0004";
  const std::string app_b = "app-20240101000000-0005";
  WorkerClient client({.address = StrCat("127.0.0.1:", ports->at("grpc_port"))});
  REQUIRE_OK(client.LaunchExecutor(
      Launch(app_a, 0, StrCat("127.0.0.1:", silent_server->port), std::string(64, 'a'), token)));
  REQUIRE_OK(client.LaunchExecutor(
      Launch(app_b, 0, StrCat("127.0.0.1:", refusing_server->port), std::string(64, 'b'), token)));
  REQUIRE(WaitFor([&] { return silent.fetches() == 1 && refusing.fetches() >= 1; }, kTimeout));
  REQUIRE_OK(client.LaunchExecutor(
      Launch(app_a, 1, StrCat("127.0.0.1:", silent_server->port), std::string(64, 'a'), token)));
  REQUIRE(ExecutorsInUi(ui) == 3);

  REQUIRE_OK(client.ApplicationFinished(app_a, false, token));
  REQUIRE_OK(client.ApplicationFinished(app_b, false, token));
  CHECK(WaitFor([&] { return ExecutorsInUi(ui) == 0; }, std::chrono::seconds(2)));
  // The normal end of their application: EXITED, as for running executors, never RUNNING.
  for (const auto& [app, id] : {std::pair{app_a, 0}, {app_a, 1}, {app_b, 0}}) {
    CHECK(master.WaitForState(app, id, proto::EXECUTOR_EXITED));
    CHECK(master.Changes(app, id).size() == 1);
    CHECK(LastMessage(master, app, id) == "its application ended before the executor started");
  }
  CHECK(FindExecutorPids(dir.path()).empty());
  CHECK(silent.fetches() == 1);
  auto exit = worker.Terminate(kTimeout);
  REQUIRE(exit.has_value());
  CHECK(exit->code() == 0);
}

}  // namespace
}  // namespace kiln::test
