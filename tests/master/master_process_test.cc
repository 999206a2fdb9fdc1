// kiln-master as a real process: readiness, /json, clean stop on SIGTERM, bad flags.

#include <signal.h>

#include <algorithm>
#include <optional>

#include "common/clients/master_client.h"
#include "common/files.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/ready_file.h"
#include "common/strings.h"
#include "common/subprocess.h"
#include "common/wait.h"
#include "tests/kiln_catch.h"

namespace kiln {
namespace {

using std::chrono::seconds;

// Owns a child process: kills and reaps it on destruction unless it has been seen to exit.
class ChildGuard {
 public:
  explicit ChildGuard(pid_t pid) : pid_(pid) {}
  ~ChildGuard() {
    if (!exit_) Terminate(pid_, std::chrono::milliseconds(500));
  }
  ChildGuard(const ChildGuard&) = delete;
  ChildGuard& operator=(const ChildGuard&) = delete;

  pid_t pid() const { return pid_; }
  // Reaps the child if it has exited.
  bool Exited() {
    if (!exit_) exit_ = TryWait(pid_);
    return exit_.has_value();
  }
  // Waits (polling) up to `timeout` for the child to exit.
  std::optional<ExitInfo> WaitExit(std::chrono::milliseconds timeout) {
    WaitFor([this] { return Exited(); }, timeout);
    return exit_;
  }

 private:
  pid_t pid_;
  std::optional<ExitInfo> exit_;
};

struct TempDir {
  std::string path;
  TempDir() {
    const char* tmp = std::getenv("TMPDIR");
    auto dir = MakeTempDir(tmp != nullptr ? tmp : "/tmp", "kiln-master-test-");
    REQUIRE(dir.ok());
    path = *dir;
  }
  ~TempDir() { (void)RemoveAll(path); }
};

std::string Master() { return StrCat(KILN_BIN_DIR, "/kiln-master"); }

std::string FileOrEmpty(const std::string& path) {
  auto text = ReadFile(path);
  return text.ok() ? *text : std::string();
}

TEST_CASE("kiln-master: starts, serves /json, stops cleanly on SIGTERM") {
  TempDir dir;
  std::string ready = dir.path + "/ready";
  std::string log = dir.path + "/master.log";
  SpawnOptions spawn;
  spawn.argv = {Master(),
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--ui-port",
                "0",
                "--ready-file",
                ready,
                "--conf",
                "kiln.worker.timeout=30s"};
  spawn.stderr_path = log;
  auto pid = Spawn(spawn);
  REQUIRE(pid.ok());
  ChildGuard child(*pid);
  INFO("master log:\n" << FileOrEmpty(log));

  bool ready_seen =
      WaitFor([&] { return child.Exited() || ReadReadyFile(ready).ok(); }, seconds(30));
  REQUIRE(ready_seen);
  REQUIRE_FALSE(child.Exited());
  auto ports = ReadReadyFile(ready);
  REQUIRE(ports.ok());
  int grpc_port = ports->at("grpc_port");
  int ui_port = ports->at("ui_port");
  CHECK(grpc_port > 0);
  CHECK(ui_port > 0);
  CHECK(ports->at("pid") == child.pid());

  auto json = HttpGet("127.0.0.1", ui_port, "/json");
  REQUIRE(json.ok());
  INFO(*json);
  CHECK(json->find(StrCat("\"url\":\"kiln://127.0.0.1:", grpc_port, "\"")) != std::string::npos);
  CHECK(json->find("\"workers\":[]") != std::string::npos);
  CHECK(json->find("\"activeapps\":[]") != std::string::npos);
  CHECK(json->find("\"status\":\"ALIVE\"") != std::string::npos);
  auto html = HttpGet("127.0.0.1", ui_port, "/");
  REQUIRE(html.ok());
  CHECK(html->find("Kiln Master") != std::string::npos);

  SECTION("the gRPC service registers workers and checks applications") {
    MasterClient client({StrCat("127.0.0.1:", grpc_port)});
    proto::RegisterWorkerRequest worker;
    worker.set_worker_id("worker-test-1");
    worker.set_host("127.0.0.1");
    worker.set_port(1);  // nothing listens there; no application asks for it
    worker.set_cores(3);
    worker.set_memory_mb(2048);
    worker.set_worker_token("token-of-worker-test-1");
    auto registered = client.RegisterWorker(worker);
    REQUIRE(registered.ok());
    CHECK_FALSE(registered->master_id().empty());
    auto beat = client.WorkerHeartbeat("worker-test-1", "token-of-worker-test-1");
    REQUIRE(beat.ok());
    CHECK_FALSE(beat->reregister());
    beat = client.WorkerHeartbeat("worker-nobody", "");
    REQUIRE(beat.ok());
    CHECK(beat->reregister());
    // Only the worker itself (its token) may heartbeat, report, unregister or register
    // again under its id while it is ALIVE.
    CHECK(absl::IsPermissionDenied(client.WorkerHeartbeat("worker-test-1", "forged").status()));
    CHECK(absl::IsPermissionDenied(client.UnregisterWorker("worker-test-1", "forged", "spoof")));
    proto::ExecutorStateChangedRequest report;
    report.set_worker_id("worker-test-1");
    report.set_app_id("app-20240101000000-0000");
    report.set_state(proto::EXECUTOR_FAILED);
    CHECK(absl::IsPermissionDenied(client.ExecutorStateChanged(report)));
    proto::RegisterWorkerRequest impostor = worker;
    impostor.set_worker_token("another-token");
    CHECK(absl::IsPermissionDenied(client.RegisterWorker(impostor).status()));

    proto::RegisterApplicationRequest app;
    app.set_memory_per_executor_mb(512);
    app.set_driver_address("127.0.0.1:2");
    auto refused = client.RegisterApplication(app);  // no binary_digest
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(refused.status().message()).find("binary_digest") != std::string::npos);
    auto known = client.ApplicationHeartbeat("app-none", "");
    REQUIRE(known.ok());
    CHECK_FALSE(known->known());

    // An application's token: only its driver may heartbeat or end it.
    app.set_binary_digest(std::string(64, 'a'));
    auto accepted = client.RegisterApplication(app);
    REQUIRE(accepted.ok());
    CHECK(accepted->app_token().size() == 64);
    const std::string& app_id = accepted->app_id();
    CHECK(absl::IsPermissionDenied(client.ApplicationHeartbeat(app_id, "forged").status()));
    CHECK(absl::IsPermissionDenied(client.UnregisterApplication(app_id, "forged", "KILLED")));
    auto alive = client.ApplicationHeartbeat(app_id, accepted->app_token());
    REQUIRE(alive.ok());
    CHECK(alive->known());
    CHECK(client.UnregisterApplication(app_id, accepted->app_token(), "FINISHED").ok());

    auto state = HttpGet("127.0.0.1", ui_port, "/json");
    REQUIRE(state.ok());
    INFO(*state);
    CHECK(state->find("\"id\":\"worker-test-1\"") != std::string::npos);
    CHECK(state->find("\"cores\":3,\"coresused\":0,\"memory\":2048,\"memoryused\":0") !=
          std::string::npos);
  }

  REQUIRE(kill(child.pid(), SIGTERM) == 0);
  auto exit = child.WaitExit(seconds(20));
  REQUIRE(exit.has_value());
  CHECK(exit->ToString() == ExitInfo{}.ToString());  // exit code 0, no signal
  CHECK(exit->code() == 0);
}

TEST_CASE("kiln-master: bad flags exit 2 with one line naming the flag") {
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  std::vector<Case> cases = {
      {{"--port", "abc"}, "--port 'abc'"},
      {{"--conf", "kiln.worker.timeout=abc"}, "setting kiln.worker.timeout='abc'"},
      {{"--ui-port=-1"}, "--ui-port '-1'"},
      {{"--no-such-flag"}, "--no-such-flag"},
      // Settings the master does not read are checked too, before it starts.
      {{"--conf", "kiln.io.compression.codec=snappy"}, "lz4, zstd or none"},
      {{"--conf", "kiln.driver.port=70000"}, "from 0 to 65535"},
      {{"--conf", "kiln.deploy.recoveryMode=FILESYSTEM"},
       "kiln.deploy.recoveryDirectory: required with kiln.deploy.recoveryMode=FILESYSTEM"},
  };
  TempDir dir;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    std::string err = StrCat(dir.path, "/stderr-", i);  // Spawn appends to an existing file
    SpawnOptions spawn;
    // Ephemeral ports first, so that a wrongly accepted flag cannot take a fixed port.
    spawn.argv = {Master(), "--port", "0", "--ui-port", "0"};
    spawn.argv.insert(spawn.argv.end(), c.args.begin(), c.args.end());
    spawn.stderr_path = err;
    auto pid = Spawn(spawn);
    REQUIRE(pid.ok());
    ChildGuard child(*pid);
    auto exit = child.WaitExit(seconds(20));
    std::string text = FileOrEmpty(err);
    INFO(Join(spawn.argv, " ") << "\nstderr: " << text);
    REQUIRE(exit.has_value());
    CHECK(exit->code() == 2);
    CHECK(text.find(c.expected) != std::string::npos);
    CHECK(text.starts_with("kiln-master: "));
    CHECK(std::count(text.begin(), text.end(), '\n') == 1);
  }
}

TEST_CASE("kiln-master: a damaged recovery file stops it with one line naming the file") {
  TempDir dir;
  const std::string state = StrCat(dir.path, "/master-state.json");
  REQUIRE(WriteFileAtomic(state, "{\"version\":1,\"workers\":[").ok());
  SpawnOptions spawn;
  spawn.argv = {Master(),
                "--port",
                "0",
                "--ui-port",
                "0",
                "--conf",
                "kiln.deploy.recoveryMode=FILESYSTEM",
                "--conf",
                StrCat("kiln.deploy.recoveryDirectory=", dir.path)};
  spawn.stderr_path = StrCat(dir.path, "/stderr");
  auto pid = Spawn(spawn);
  REQUIRE(pid.ok());
  ChildGuard child(*pid);
  auto exit = child.WaitExit(seconds(20));
  const std::string text = FileOrEmpty(spawn.stderr_path);
  INFO("stderr: " << text);
  REQUIRE(exit.has_value());
  CHECK(exit->code() != 0);
  CHECK(text.find("kiln-master: kiln.deploy.recoveryDirectory: " + state) != std::string::npos);
  CHECK(std::count(text.begin(), text.end(), '\n') == 1);
  CHECK(FileOrEmpty(state) == "{\"version\":1,\"workers\":[");  // left as it was
}

}  // namespace
}  // namespace kiln
