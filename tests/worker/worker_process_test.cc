// Integration: kiln-worker as a process, against a real kiln-master and against an
// unreachable one.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "common/files.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "nlohmann/json.hpp"
#include "tests/kiln_catch.h"
#include "tests/support/test_util.h"
#include "tests/worker/daemon_process.h"

namespace kiln::test {
namespace {

bool PathExists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

// A port nobody listens on: bound, then released.
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

struct HealthResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
  bool operator==(const HealthResult&) const = default;
};

// Runs a --health check to its end.
HealthResult Health(const TempDir& dir, const std::vector<std::string>& argv) {
  const std::string log = dir.Sub("health.out");
  DaemonProcess check(argv, log);
  if (!check.Start().ok()) return {};
  auto exit = check.WaitExit(kTimeout);
  HealthResult out{exit.has_value() ? exit->code() : -1, ReadFile(log).value_or("")};
  std::remove(log.c_str());
  return out;
}

TEST_CASE("a worker registers with kiln-master and stops on SIGTERM", "[worker][integration]") {
  if (access((kBin + "/kiln-master").c_str(), X_OK) != 0) {
    FAIL("kiln-master is not built at " << kBin << "/kiln-master");
  }
  TempDir dir;
  DaemonProcess master({kBin + "/kiln-master", "--host", "127.0.0.1", "--port", "0", "--ui-port",
                        "0", "--ready-file", dir.Sub("master.ready")},
                       dir.Sub("master.log"));
  REQUIRE_OK(master.Start());
  auto master_ports = master.WaitReady(dir.Sub("master.ready"), kTimeout);
  REQUIRE_OK(master_ports);
  const int master_port = master_ports->at("grpc_port");
  const int master_ui = master_ports->at("ui_port");

  DaemonProcess worker(
      {kBin + "/kiln-worker", "--master", StrCat("kiln://127.0.0.1:", master_port), "--port", "0",
       "--ui-port", "0", "--cores", "2", "--memory", "2g", "--work-dir", dir.Sub("work"),
       "--ready-file", dir.Sub("worker.ready"), "--conf", "kiln.worker.heartbeatInterval=200ms"},
      dir.Sub("worker.log"));
  REQUIRE_OK(worker.Start());
  auto worker_ports = worker.WaitReady(dir.Sub("worker.ready"), kTimeout);
  REQUIRE_OK(worker_ports);
  const int worker_port = worker_ports->at("grpc_port");
  CHECK(worker_ports->at("pid") == worker.pid());

  // The master lists the worker ALIVE with its resources.
  nlohmann::json entry;
  bool alive = WaitFor(
      [&] {
        auto body = HttpGet("127.0.0.1", master_ui, "/json");
        if (!body.ok()) return false;
        auto state = nlohmann::json::parse(*body, nullptr, /*allow_exceptions=*/false);
        if (!state.is_object() || !state["workers"].is_array()) return false;
        for (const auto& w : state["workers"]) {
          if (w.value("port", 0) == worker_port && w.value("state", "") == "ALIVE") {
            entry = w;
            return true;
          }
        }
        return false;
      },
      kTimeout);
  INFO("master log:\n" << master.LogTail() << "\nworker log:\n" << worker.LogTail());
  REQUIRE(alive);
  CHECK(entry.value("cores", 0) == 2);
  CHECK(entry.value("memory", 0) == 2048);

  // The worker's own /json agrees.
  auto body = HttpGet("127.0.0.1", worker_ports->at("ui_port"), "/json");
  REQUIRE_OK(body);
  auto self = nlohmann::json::parse(*body);
  CHECK(self["id"] == entry["id"]);
  CHECK(self["port"] == worker_port);
  CHECK(self["cores"] == 2);
  CHECK(self["coresused"] == 0);
  CHECK(std::string(self["id"]).starts_with("worker-"));
  CHECK(std::string(self["id"]).ends_with(StrCat("-127.0.0.1-", worker_port)));
  auto page = HttpGet("127.0.0.1", worker_ports->at("ui_port"), "/");
  REQUIRE_OK(page);
  CHECK(page->find("<html>") != std::string::npos);

  // A second worker or master on a port taken by these: one line naming the flag.
  for (const auto& [argv, line] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{kBin + "/kiln-worker", "--master", StrCat("kiln://127.0.0.1:", master_port), "--port",
             StrCat(worker_port), "--ui-port", "0", "--work-dir", dir.Sub("work2")},
            StrCat("kiln-worker: --port ", worker_port, ": 127.0.0.1:", worker_port,
                   " is in use by another process\n")},
           {{kBin + "/kiln-worker", "--master", StrCat("kiln://127.0.0.1:", master_port), "--port",
             "0", "--ui-port", StrCat(worker_ports->at("ui_port")), "--work-dir", dir.Sub("work2")},
            StrCat("kiln-worker: --ui-port ", worker_ports->at("ui_port"),
                   ": 127.0.0.1:", worker_ports->at("ui_port"), " is in use by another process\n")},
           {{kBin + "/kiln-worker", "--master", StrCat("kiln://127.0.0.1:", master_port), "--port",
             "0", "--ui-port", "0", "--work-dir", dir.Sub("work")},
            StrCat("kiln-worker: --work-dir ", dir.Sub("work"),
                   ": in use by another worker (held by process ", worker.pid(), ")\n")},
           {{kBin + "/kiln-master", "--host", "127.0.0.1", "--port", StrCat(master_port),
             "--ui-port", "0"},
            StrCat("kiln-master: --port ", master_port, ": 127.0.0.1:", master_port,
                   " is in use by another process\n")},
           {{kBin + "/kiln-master", "--host", "127.0.0.1", "--port", "0", "--ui-port",
             StrCat(master_ui)},
            StrCat("kiln-master: --ui-port ", master_ui, ": 127.0.0.1:", master_ui,
                   " is in use by another process\n")}}) {
    DaemonProcess second(argv, dir.Sub("second.log"));
    REQUIRE_OK(second.Start());
    auto exit = second.WaitExit(kTimeout);
    REQUIRE(exit.has_value());
    CHECK(exit->code() == 1);
    // The error is the one line of its kind (info log lines aside).
    const std::string text = ReadFile(dir.Sub("second.log")).value_or("");
    INFO("its output: " << text);
    std::string errors;
    for (std::string_view l : Split(text, '\n', true)) {
      if (l.starts_with("kiln-")) StrAppend(&errors, l, "\n");
    }
    CHECK(errors == line);
    std::remove(dir.Sub("second.log").c_str());
  }

  // --health (the Docker healthcheck): both serve; the worker reaches its master.
  const std::string worker_ui = StrCat(worker_ports->at("ui_port"));
  const std::vector<std::string> worker_health{kBin + "/kiln-worker", "--health", "--ui-port",
                                               worker_ui};
  CHECK(
      Health(dir, {kBin + "/kiln-master", "--health", "--host", "127.0.0.1", "--ui-port",
                   StrCat(master_ui)}) ==
      HealthResult{0, StrCat("kiln-master: healthy (http://127.0.0.1:", master_ui, "/health)\n")});
  CHECK(
      Health(dir, worker_health) ==
      HealthResult{0, StrCat("kiln-worker: healthy (http://127.0.0.1:", worker_ui, "/health)\n")});

  // Without its master the worker is unhealthy, saying why; the master's ready file goes.
  auto master_exit = master.Terminate(kTimeout);
  REQUIRE(master_exit.has_value());
  CHECK(master_exit->code() == 0);
  CHECK_FALSE(PathExists(dir.Sub("master.ready")));
  const std::string cut_off = StrCat(
      "kiln-worker: unhealthy: its heartbeats do not reach master kiln://127.0.0.1:", master_port,
      " (http://127.0.0.1:", worker_ui, "/health)\n");
  CHECK(WaitFor([&] { return Health(dir, worker_health) == HealthResult{1, cut_off}; }, kTimeout));

  auto worker_exit = worker.Terminate(kTimeout);
  REQUIRE(worker_exit.has_value());
  CHECK(worker_exit->code() == 0);
  CHECK_FALSE(PathExists(dir.Sub("worker.ready")));  // removed as it exits
  CHECK(Health(dir, worker_health) ==
        HealthResult{1, StrCat("kiln-worker: unhealthy: nothing answers on that port "
                               "(http://127.0.0.1:",
                               worker_ui, "/health)\n")});
  // A port 0 cannot be checked.
  CHECK(Health(dir, {kBin + "/kiln-master", "--health", "--ui-port", "0"}).exit_code == 2);
}

TEST_CASE("a worker gives up on an unreachable master, naming it", "[worker][integration]") {
  TempDir dir;
  const std::string url = StrCat("kiln://127.0.0.1:", ClosedPort());
  DaemonProcess worker({kBin + "/kiln-worker", "--master", url, "--port", "0", "--ui-port", "0",
                        "--work-dir", dir.Sub("work"), "--conf", "kiln.master.connectTimeout=1s",
                        "--ready-file", dir.Sub("worker.ready")},
                       dir.Sub("worker.log"));
  REQUIRE_OK(worker.Start());
  auto exit = worker.WaitExit(std::chrono::seconds(20));
  INFO("worker log:\n" << worker.LogTail());
  REQUIRE(exit.has_value());
  CHECK(exit->code() == 1);
  auto log = ReadFile(dir.Sub("worker.log"));
  REQUIRE_OK(log);
  CHECK(log->find(url) != std::string::npos);
  CHECK_FALSE(PathExists(dir.Sub("worker.ready")));  // never registered: never ready
}

TEST_CASE("bad kiln-worker flags exit 2 with one line naming the flag", "[worker][integration]") {
  TempDir dir;
  struct Case {
    std::vector<std::string> args;
    std::string must_mention;
  };
  const std::vector<Case> cases = {
      {{"--master", "kiln://127.0.0.1:7077", "--cores", "0"}, "--cores '0'"},
      {{"--master", "kiln://127.0.0.1:7077", "--memory", "1x"}, "--memory '1x'"},
      {{"--master", "127.0.0.1:7077"}, "--master"},
      {{"--master", "kiln://127.0.0.1"}, "--master"},
      {{"--master", "kiln://127.0.0.1:7077", "--bogus"}, "--bogus"},
      {{"--master", "kiln://127.0.0.1:7077", "stray"},
       "unexpected argument 'stray' (kiln-worker takes only flags"},
      {{"--master", "kiln://127.0.0.1:7077", "--port", "7100", "--ui-port", "7100"},
       "--ui-port '7100': the same port as --port"},
      {{"--master"}, "--master: missing value"},
      {{"--master", "kiln://127.0.0.1:7077", "--conf", "kiln.worker.timeout=abc"},
       "kiln.worker.timeout"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv{kBin + "/kiln-worker"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    DaemonProcess worker(argv, dir.Sub("bad.log"));
    REQUIRE_OK(worker.Start());
    auto exit = worker.WaitExit(kTimeout);
    auto log = ReadFile(dir.Sub("bad.log"));
    REQUIRE_OK(log);
    INFO(c.must_mention << " -> " << *log);
    REQUIRE(exit.has_value());
    CHECK(exit->code() == 2);
    CHECK(log->find(c.must_mention) != std::string::npos);
    CHECK(std::count(log->begin(), log->end(), '\n') == 1);
    REQUIRE_OK(RemoveAll(dir.Sub("bad.log")));
  }
}

}  // namespace
}  // namespace kiln::test
