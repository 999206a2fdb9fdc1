// The mini cluster itself: a master and workers as real processes come up, lose a
// worker, and take a restarted one back. Every test ends with the leak check.
#include <chrono>
#include <string>

#include "common/wait.h"
#include "tests/kiln_catch.h"
#include "tests/support/mini_cluster.h"
#include "tests/support/test_util.h"

namespace kiln::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Short liveness settings so that a lost worker is noticed within seconds.
MiniClusterOptions FastLiveness() {
  MiniClusterOptions options;
  options.conf = {"kiln.worker.timeout=2s", "kiln.worker.heartbeatInterval=200ms"};
  return options;
}

int64_t Int(const Json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<int64_t>() : -1;
}

std::string Str(const Json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

TEST_CASE("cluster: two workers come up ALIVE with 4 cores in total", "[cluster]") {
  MiniCluster cluster;
  REQUIRE_OK(cluster.Start());
  CHECK(cluster.master_url() == "kiln://127.0.0.1:" + std::to_string(cluster.master_port()));

  Json state = cluster.MasterState();
  INFO("/json: " << state.dump());
  REQUIRE(state.is_object());
  CHECK(Str(state, "status") == "ALIVE");
  CHECK(Str(state, "url") == cluster.master_url());
  CHECK(Int(state, "cores") == 4);
  CHECK(Int(state, "coresused") == 0);
  CHECK(Int(state, "memory") == 2 * 2048);
  CHECK(Int(state, "memoryused") == 0);
  REQUIRE(state["workers"].is_array());
  REQUIRE(state["workers"].size() == 2);
  for (int i = 0; i < 2; ++i) {
    Json w = cluster.WorkerState(i);
    INFO("worker " << i << ": " << w.dump());
    CHECK(Str(w, "state") == "ALIVE");
    CHECK(Str(w, "host") == "127.0.0.1");
    CHECK(Int(w, "cores") == 2);
    CHECK(Int(w, "memory") == 2048);
    CHECK(Int(w, "coresused") == 0);
    CHECK_FALSE(Str(w, "id").empty());
  }
  CHECK(Str(cluster.WorkerState(0), "id") != Str(cluster.WorkerState(1), "id"));
  REQUIRE(state["activeapps"].is_array());
  CHECK(state["activeapps"].empty());
  REQUIRE_OK(cluster.CheckNoLeaks());
}

TEST_CASE("cluster: a SIGKILLed worker becomes DEAD and its cores leave the pool", "[cluster]") {
  MiniCluster cluster(FastLiveness());
  REQUIRE_OK(cluster.Start());
  cluster.KillWorker(0);
  CHECK(cluster.worker_pid(0) == -1);

  bool dead = WaitFor([&] { return Str(cluster.WorkerState(0), "state") == "DEAD"; }, seconds(30));
  INFO("/json: " << cluster.MasterState().dump());
  REQUIRE(dead);
  CHECK(WaitFor([&] { return Int(cluster.MasterState(), "cores") == 2; }, seconds(10)));
  CHECK(Int(cluster.MasterState(), "memory") == 2048);
  CHECK(Str(cluster.WorkerState(1), "state") == "ALIVE");
  REQUIRE_OK(cluster.CheckNoLeaks());
}

TEST_CASE("cluster: a worker stopped with SIGTERM is DEAD at once, not after the timeout",
          "[cluster]") {
  MiniClusterOptions options;
  options.conf = {"kiln.worker.timeout=10m"};  // only the worker's own word can do it
  MiniCluster cluster(options);
  REQUIRE_OK(cluster.Start());
  cluster.StopWorker(0);
  CHECK(cluster.worker_pid(0) == -1);
  bool dead = WaitFor([&] { return Str(cluster.WorkerState(0), "state") == "DEAD"; }, seconds(5));
  INFO("/json: " << cluster.MasterState().dump());
  REQUIRE(dead);
  CHECK(Int(cluster.MasterState(), "cores") == 2);
  CHECK(Str(cluster.WorkerState(1), "state") == "ALIVE");
  REQUIRE_OK(cluster.CheckNoLeaks());
}

TEST_CASE("cluster: a restarted worker registers again", "[cluster]") {
  MiniCluster cluster(FastLiveness());
  REQUIRE_OK(cluster.Start());
  int old_port = cluster.worker_port(0);
  cluster.KillWorker(0);
  REQUIRE(WaitFor([&] { return Int(cluster.MasterState(), "cores") == 2; }, seconds(30)));

  REQUIRE_OK(cluster.RestartWorker(0));
  INFO("/json: " << cluster.MasterState().dump());
  CHECK(cluster.worker_port(0) != old_port);
  CHECK(Str(cluster.WorkerState(0), "state") == "ALIVE");
  CHECK(WaitFor([&] { return Int(cluster.MasterState(), "cores") == 4; }, seconds(10)));
  Json state = cluster.MasterState();
  REQUIRE(state["workers"].is_array());
  int alive = 0;
  for (const Json& w : state["workers"]) alive += Str(w, "state") == "ALIVE";
  CHECK(alive == 2);
  REQUIRE_OK(cluster.CheckNoLeaks());
}

TEST_CASE("cluster: a paused worker is declared DEAD", "[cluster]") {
  MiniCluster cluster(FastLiveness());
  REQUIRE_OK(cluster.Start());
  cluster.PauseWorker(1);
  bool dead = WaitFor([&] { return Str(cluster.WorkerState(1), "state") == "DEAD"; }, seconds(30));
  INFO("/json: " << cluster.MasterState().dump());
  CHECK(dead);
  cluster.ResumeWorker(1);
  CHECK(Str(cluster.WorkerState(0), "state") == "ALIVE");
  REQUIRE_OK(cluster.CheckNoLeaks());
}

TEST_CASE("cluster: a restarted master comes back on the same ports", "[cluster]") {
  MiniCluster cluster(FastLiveness());
  REQUIRE_OK(cluster.Start());
  int port = cluster.master_port();
  int ui_port = cluster.master_ui_port();
  cluster.KillMaster();
  CHECK_FALSE(cluster.FetchMasterState().ok());
  REQUIRE_OK(cluster.RestartMaster());
  CHECK(cluster.master_port() == port);
  CHECK(cluster.master_ui_port() == ui_port);
  CHECK(Str(cluster.MasterState(), "status") == "ALIVE");
  // The workers find the new master and register again.
  REQUIRE_OK(cluster.WaitForWorkersAlive(seconds(30)));
  CHECK(Int(cluster.MasterState(), "cores") == 4);
  REQUIRE_OK(cluster.CheckNoLeaks());
}

TEST_CASE("cluster: a daemon that dies at start fails Start with its log", "[cluster]") {
  MiniClusterOptions options;
  options.worker_conf = {"kiln.no.such.setting=1"};
  MiniCluster cluster(options);
  absl::Status s = cluster.Start();
  INFO(s.ToString());
  REQUIRE_FALSE(s.ok());
  std::string message(s.message());
  CHECK(message.find("worker-0 exited") != std::string::npos);
  CHECK(message.find("last lines of") != std::string::npos);  // its log tail
  CHECK(message.find("mini cluster: starting") != std::string::npos);
}

}  // namespace
}  // namespace kiln::test
