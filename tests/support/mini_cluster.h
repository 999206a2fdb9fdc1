#pragma once
// MiniCluster: a real Kiln cluster for integration tests — kiln-master and N kiln-worker
// processes on 127.0.0.1 with ephemeral ports, in a fresh temporary directory.
//
//   kiln::test::MiniCluster cluster({.num_workers = 2});
//   REQUIRE_OK(cluster.Start());
//   ... run kiln-submit --master cluster.master_url() ...
//   REQUIRE_OK(cluster.CheckNoLeaks());
//
// Each daemon writes its bound ports to a ready file; Start() waits for it while
// checking that the child is alive (a daemon that dies fails Start() at once, with its
// log tail), then waits until the master's GET /json reports every worker ALIVE.
// Children die with the test process (PR_SET_PDEATHSIG). The destructor stops every
// node (SIGTERM, then SIGKILL), kills executors left under the cluster's directory,
// prints each node's log tail to stderr when the current test failed (always with
// KILN_TEST_VERBOSE set) and removes the directory (kept with KILN_KEEP_TEST_DIRS).
//
// Layout of temp_dir(): logs/<node>.log (stdout and stderr of the node),
// <node>/ready, worker-<i>/work (the worker's --work-dir). Nodes: "master", "worker-<i>".
//
// Not thread-safe: drive it from the test's thread.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "tests/support/test_util.h"

namespace kiln::test {

using Json = nlohmann::json;

struct MiniClusterOptions {
  int num_workers = 2;
  int cores_per_worker = 2;
  std::string memory_per_worker = "2g";  // --memory of each worker
  // "key=value" settings passed with --conf: `conf` to every node, the others to the
  // master or to every worker only (e.g. kiln.worker.timeout=2s,
  // kiln.worker.heartbeatInterval=200ms).
  std::vector<std::string> conf;
  std::vector<std::string> master_conf;
  std::vector<std::string> worker_conf;
  // "KEY=VALUE" entries laid over the test's environment for every node.
  std::vector<std::string> env;
  // Where kiln-master and kiln-worker are; empty = the build's bin dir.
  std::string bin_dir;
  // Workers whose work dir is a tmpfs of its own (`tmpfs_size`, mount(8)'s size=), so
  // that a test can fill that worker's disk with FillWorkerDisk. Needs root
  // (CAP_SYS_ADMIN); Start() fails naming that otherwise.
  std::vector<int> tmpfs_workers;
  std::string tmpfs_size = "256m";
  // Bound on each wait of Start()/Restart*(): ready files, registration.
  std::chrono::milliseconds start_timeout{60'000};
};

class MiniCluster {
 public:
  explicit MiniCluster(MiniClusterOptions options = {});
  ~MiniCluster();
  MiniCluster(const MiniCluster&) = delete;
  MiniCluster& operator=(const MiniCluster&) = delete;

  // Starts the master and the workers and waits until the master reports every worker
  // ALIVE. Call once. On error, whatever started is stopped by the destructor.
  absl::Status Start();

  // Stops every node (SIGTERM, a short grace, SIGKILL) and kills leftover executors.
  // Idempotent; the destructor calls it. The temp dir and logs stay until destruction.
  void Stop();

  // --- Addresses and paths ---
  std::string master_url() const;  // "kiln://127.0.0.1:PORT"
  int master_port() const;         // gRPC
  int master_ui_port() const;      // HTTP: /json
  int num_workers() const { return static_cast<int>(workers_.size()); }
  int worker_port(int i) const;  // gRPC (the "port" of the worker in /json)
  int worker_ui_port(int i) const;
  std::vector<int> worker_ui_ports() const;
  std::string worker_work_dir(int i) const;
  std::vector<std::string> worker_work_dirs() const;
  const std::string& temp_dir() const { return temp_dir_; }
  std::string master_log() const;
  std::string worker_log(int i) const;
  pid_t master_pid() const;  // -1 when not running
  pid_t worker_pid(int i) const;

  // --- Faults ---
  void KillWorker(int i);    // SIGKILL, reaped; its executors are not touched
  void StopWorker(int i);    // SIGTERM (SIGKILL after a grace), reaped: a clean stop
  void PauseWorker(int i);   // SIGSTOP
  void ResumeWorker(int i);  // SIGCONT
  // Kills worker i if it runs, starts it again with the same work dir and new
  // ephemeral ports, and waits until the master reports it ALIVE.
  absl::Status RestartWorker(int i);
  // Shrinks worker i's tmpfs (see tmpfs_workers) to what it holds now: from then on
  // every write that needs a new page fails with ENOSPC, until the worker's files go.
  absl::Status FillWorkerDisk(int i);
  void KillMaster();  // SIGKILL, reaped
  // Kills the master if it runs and starts it again on the same ports; waits for its
  // ready file only (call WaitForWorkersAlive to wait for workers to come back).
  absl::Status RestartMaster();

  // --- Observing ---
  // The master's GET /json, parsed; null when it cannot be fetched or parsed.
  Json MasterState() const;
  absl::StatusOr<Json> FetchMasterState() const;
  // The /json entry of worker i (matched by its gRPC port), or null.
  Json WorkerState(int i) const;
  // Waits until every running worker appears ALIVE in /json.
  absl::Status WaitForWorkersAlive(std::chrono::milliseconds timeout);
  // True once all ALIVE workers have coresused == 0 and memoryused == 0.
  bool WaitForResourcesFree(std::chrono::milliseconds timeout) const;
  // Executor processes (argv holds --kiln-executor) whose --app-dir is under
  // temp_dir(), whoever their parent is.
  std::vector<pid_t> ExecutorPids() const;
  bool WaitNoExecutors(std::chrono::milliseconds timeout) const;
  // The leak check that ends every integration test: resources free and no executor
  // left. The error says what leaked (the workers' usage, the executors' command lines).
  absl::Status CheckNoLeaks(std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;

  // Each node's last `lines` log lines, headed by its name.
  std::string LogTails(int lines = 40) const;

 private:
  struct Node {
    std::string name;        // "master", "worker-<i>"
    std::string log_path;    // stdout + stderr
    std::string ready_path;  // written by the daemon once listening
    std::string work_dir;    // workers only
    pid_t pid = -1;
    bool paused = false;
    int port = 0;
    int ui_port = 0;
  };

  absl::Status StartMaster(int port, int ui_port);
  absl::Status SpawnWorker(int i);
  absl::Status SpawnNode(Node& node, const std::string& binary, std::vector<std::string> args);
  // Waits for the node's ready file and reads its ports; fails at once if it exits.
  absl::Status WaitForReady(Node& node);
  // Reaps the node if it has exited and returns an error with its log tail; else OK.
  absl::Status CheckRunning(Node& node);
  void KillNode(Node& node);
  void TerminateNodes();
  // SIGTERM to each (SIGCONT first if paused), SIGKILL after kStopGrace; reaped.
  void Terminate(const std::vector<Node*>& nodes);
  Node& worker(int i);
  const Node& worker(int i) const;

  MiniClusterOptions options_;
  std::unique_ptr<TempDir> dir_;  // removed last, after the logs are printed
  std::string temp_dir_;
  Node master_;
  std::vector<Node> workers_;
  bool started_ = false;
  std::vector<std::string> mounts_;  // tmpfs work dirs, unmounted by the destructor
};

}  // namespace kiln::test
