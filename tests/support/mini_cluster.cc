#include "tests/support/mini_cluster.h"

#include <signal.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <exception>
#include <fstream>
#include <optional>

#include "absl/algorithm/container.h"
#include "common/check.h"
#include "common/files.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/ready_file.h"
#include "common/status.h"
#include "common/strings.h"
#include "common/subprocess.h"
#include "common/wait.h"
#include "tests/support/processes.h"
#include "tests/support/run_command.h"

#ifndef KILN_BIN_DIR
#error "KILN_BIN_DIR must name the directory of kiln-master and kiln-worker"
#endif

namespace kiln::test {
namespace {

using std::chrono::milliseconds;

constexpr char kHost[] = "127.0.0.1";
constexpr milliseconds kStopGrace{10'000};

int64_t JsonInt(const Json& j, const char* key) {
  if (!j.is_object()) return -1;
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<int64_t>() : -1;
}

std::string JsonString(const Json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// The /json entry of the worker listening on `port`: an ALIVE one if there is one (a
// restarted worker may reuse a dead one's port), else the last one; null if none.
Json FindWorker(const Json& state, int port) {
  Json found;
  if (!state.is_object() || !state.contains("workers") || !state["workers"].is_array()) {
    return found;
  }
  for (const Json& w : state["workers"]) {
    if (JsonInt(w, "port") != port) continue;
    found = w;
    if (JsonString(w, "state") == "ALIVE") break;
  }
  return found;
}

}  // namespace

MiniCluster::MiniCluster(MiniClusterOptions options) : options_(std::move(options)) {
  if (options_.bin_dir.empty()) options_.bin_dir = KILN_BIN_DIR;
}

MiniCluster::~MiniCluster() {
  Stop();
  bool failed = CurrentTestFailed() || std::uncaught_exceptions() > 0;
  if (!temp_dir_.empty() && (failed || TestVerbose())) {
    std::fprintf(stderr, "%s", LogTails(40).c_str());
  }
  if (!temp_dir_.empty() && KeepTestDirs()) {
    std::fprintf(stderr, "mini cluster: kept %s (KILN_KEEP_TEST_DIRS)\n", temp_dir_.c_str());
  }
  for (const std::string& mount : mounts_) ::umount2(mount.c_str(), MNT_DETACH);
  dir_.reset();
}

absl::Status MiniCluster::Start() {
  if (started_) return absl::FailedPreconditionError("MiniCluster::Start called twice");
  started_ = true;
  if (options_.num_workers < 0) return absl::InvalidArgumentError("num_workers < 0");
  dir_ = std::make_unique<TempDir>("kiln-minicluster-");
  temp_dir_ = dir_->path();
  RETURN_IF_ERROR(MakeDirs(StrCat(temp_dir_, "/logs")));

  master_.name = "master";
  master_.log_path = StrCat(temp_dir_, "/logs/master.log");
  master_.ready_path = StrCat(temp_dir_, "/master/ready");
  RETURN_IF_ERROR(MakeDirs(StrCat(temp_dir_, "/master")));
  RETURN_IF_ERROR(StartMaster(0, 0));

  workers_.resize(options_.num_workers);
  for (int i = 0; i < num_workers(); ++i) {
    Node& w = workers_[i];
    w.name = StrCat("worker-", i);
    w.log_path = StrCat(temp_dir_, "/logs/", w.name, ".log");
    w.ready_path = StrCat(temp_dir_, "/", w.name, "/ready");
    w.work_dir = StrCat(temp_dir_, "/", w.name, "/work");
    RETURN_IF_ERROR(MakeDirs(w.work_dir));
    if (absl::c_linear_search(options_.tmpfs_workers, i)) {
      const std::string data = "size=" + options_.tmpfs_size;
      if (::mount("tmpfs", w.work_dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, data.c_str()) != 0) {
        return ErrnoError("cannot mount a tmpfs on ", w.work_dir, " (tmpfs_workers needs root)");
      }
      mounts_.push_back(w.work_dir);
    }
    RETURN_IF_ERROR(SpawnWorker(i));  // all workers start at once...
  }
  for (Node& w : workers_) RETURN_IF_ERROR(WaitForReady(w));  // ...then we wait for each
  return WaitForWorkersAlive(options_.start_timeout);
}

void MiniCluster::Stop() {
  TerminateNodes();
  if (temp_dir_.empty()) return;
  // Executors are the workers' children: normally they die with them.
  if (!WaitNoExecutors(milliseconds(5'000))) {
    for (pid_t pid : ExecutorPids()) kill(pid, SIGKILL);
    WaitNoExecutors(milliseconds(5'000));
  }
}

void MiniCluster::TerminateNodes() {
  std::vector<Node*> nodes{&master_};
  for (Node& w : workers_) nodes.push_back(&w);
  Terminate(nodes);
}

void MiniCluster::Terminate(const std::vector<Node*>& nodes) {
  for (Node* n : nodes) {
    if (n->pid <= 0) continue;
    if (n->paused) kill(n->pid, SIGCONT);
    n->paused = false;
    kill(n->pid, SIGTERM);
  }
  WaitFor(
      [&] {
        bool all_gone = true;
        for (Node* n : nodes) {
          if (n->pid > 0 && TryWait(n->pid).has_value()) n->pid = -1;
          all_gone = all_gone && n->pid <= 0;
        }
        return all_gone;
      },
      kStopGrace);
  for (Node* n : nodes) KillNode(*n);
}

// --- Starting nodes ---

absl::Status MiniCluster::StartMaster(int port, int ui_port) {
  std::vector<std::string> args{"--host",    kHost,           "--port",       StrCat(port),
                                "--ui-port", StrCat(ui_port), "--ready-file", master_.ready_path};
  for (const auto* confs : {&options_.conf, &options_.master_conf}) {
    for (const std::string& kv : *confs) args.insert(args.end(), {"--conf", kv});
  }
  RETURN_IF_ERROR(SpawnNode(master_, "kiln-master", std::move(args)));
  RETURN_IF_ERROR(WaitForReady(master_));
  if ((port != 0 && master_.port != port) || (ui_port != 0 && master_.ui_port != ui_port)) {
    return absl::InternalError(StrCat("master came back on ports ", master_.port, "/",
                                      master_.ui_port, " instead of ", port, "/", ui_port));
  }
  return absl::OkStatus();
}

absl::Status MiniCluster::SpawnWorker(int i) {
  Node& w = worker(i);
  std::vector<std::string> args{"--master",     master_url(),
                                "--host",       kHost,
                                "--port",       "0",
                                "--ui-port",    "0",
                                "--cores",      StrCat(options_.cores_per_worker),
                                "--memory",     options_.memory_per_worker,
                                "--work-dir",   w.work_dir,
                                "--ready-file", w.ready_path};
  for (const auto* confs : {&options_.conf, &options_.worker_conf}) {
    for (const std::string& kv : *confs) args.insert(args.end(), {"--conf", kv});
  }
  return SpawnNode(w, "kiln-worker", std::move(args));
}

absl::Status MiniCluster::SpawnNode(Node& node, const std::string& binary,
                                    std::vector<std::string> args) {
  std::string path = StrCat(options_.bin_dir, "/", binary);
  if (access(path.c_str(), X_OK) != 0) {
    return absl::NotFoundError(StrCat(binary, " not found at ", path, ": build it first (cmake ",
                                      "--build <build dir> --target ", binary, ")"));
  }
  (void)RemoveAll(node.ready_path);  // wait for a fresh one
  SpawnOptions spawn;
  spawn.argv = {path};
  spawn.argv.insert(spawn.argv.end(), args.begin(), args.end());
  if (!options_.env.empty()) spawn.env = EnvironmentWith(options_.env);
  spawn.stdout_path = node.log_path;
  spawn.stderr_path = node.log_path;
  spawn.die_with_parent = true;
  std::ofstream(node.log_path, std::ios::app)
      << "==== mini cluster: starting " << Join(spawn.argv, " ") << "\n";
  ASSIGN_OR_RETURN(node.pid, Spawn(spawn));
  node.paused = false;
  node.port = 0;
  node.ui_port = 0;
  return absl::OkStatus();
}

absl::Status MiniCluster::WaitForReady(Node& node) {
  absl::Status died = absl::OkStatus();
  bool ready = WaitFor(
      [&] {
        died = CheckRunning(node);
        if (!died.ok()) return true;
        absl::StatusOr<std::map<std::string, int>> values = ReadReadyFile(node.ready_path);
        if (!values.ok()) return false;
        node.port = (*values)["grpc_port"];
        node.ui_port = (*values)["ui_port"];
        return true;
      },
      options_.start_timeout);
  RETURN_IF_ERROR(died);
  if (!ready) {
    return absl::DeadlineExceededError(StrCat(node.name, " wrote no ready file ", node.ready_path,
                                              " within ", options_.start_timeout.count(),
                                              " ms; last lines of ", node.log_path, ":\n",
                                              TailFile(node.log_path, 40)));
  }
  if (node.port <= 0 || node.ui_port <= 0) {
    return absl::InternalError(
        StrCat(node.name, "'s ready file ", node.ready_path, " lacks grpc_port or ui_port"));
  }
  return absl::OkStatus();
}

absl::Status MiniCluster::CheckRunning(Node& node) {
  if (node.pid <= 0) return absl::FailedPreconditionError(StrCat(node.name, " is not running"));
  std::optional<ExitInfo> exit = TryWait(node.pid);
  if (!exit) return absl::OkStatus();
  node.pid = -1;
  return absl::UnavailableError(StrCat(node.name, " exited (", exit->ToString(),
                                       "); last lines of ", node.log_path, ":\n",
                                       TailFile(node.log_path, 40)));
}

absl::Status MiniCluster::WaitForWorkersAlive(std::chrono::milliseconds timeout) {
  absl::Status error = absl::OkStatus();
  std::string waiting_for;
  bool done = WaitFor(
      [&] {
        error = CheckRunning(master_);
        for (Node& w : workers_) {
          if (error.ok() && w.pid > 0) error = CheckRunning(w);
        }
        if (!error.ok()) return true;
        absl::StatusOr<Json> state = FetchMasterState();
        if (!state.ok()) {
          waiting_for = std::string(state.status().message());
          return false;
        }
        for (const Node& w : workers_) {
          if (w.pid <= 0 || w.paused) continue;
          if (JsonString(FindWorker(*state, w.port), "state") != "ALIVE") {
            waiting_for =
                StrCat(w.name, " (port ", w.port, ") to be ALIVE in /json: ", state->dump());
            return false;
          }
        }
        return true;
      },
      timeout);
  RETURN_IF_ERROR(error);
  if (!done) {
    return absl::DeadlineExceededError(
        StrCat("after ", timeout.count(), " ms still waiting for ", waiting_for));
  }
  return absl::OkStatus();
}

// --- Faults ---

void MiniCluster::KillNode(Node& node) {
  if (node.pid <= 0) return;
  kill(node.pid, SIGKILL);
  Wait(node.pid);
  node.pid = -1;
  node.paused = false;
}

void MiniCluster::KillWorker(int i) { KillNode(worker(i)); }

absl::Status MiniCluster::FillWorkerDisk(int i) {
  const std::string& dir = worker(i).work_dir;
  if (!absl::c_linear_search(mounts_, dir)) {
    return absl::FailedPreconditionError(StrCat("worker ", i, " is not in tmpfs_workers"));
  }
  // Files may grow between reading the usage and shrinking (a size below it is refused
  // with EINVAL): read it again and retry.
  for (int attempt = 0;; ++attempt) {
    struct statfs fs {};
    if (::statfs(dir.c_str(), &fs) != 0) return ErrnoError("statfs ", dir);
    const uint64_t used = (fs.f_blocks - fs.f_bfree) * static_cast<uint64_t>(fs.f_bsize);
    const std::string data = StrCat("size=", std::max<uint64_t>(used, fs.f_bsize));
    if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_REMOUNT | MS_NOSUID | MS_NODEV, data.c_str()) ==
        0) {
      return absl::OkStatus();
    }
    if (errno != EINVAL || attempt == 100) {
      return ErrnoError("cannot shrink the tmpfs on ", dir, " to ", data);
    }
  }
}

void MiniCluster::StopWorker(int i) { Terminate({&worker(i)}); }

void MiniCluster::PauseWorker(int i) {
  Node& w = worker(i);
  KILN_CHECK(w.pid > 0, "PauseWorker: worker not running");
  kill(w.pid, SIGSTOP);
  w.paused = true;
}

void MiniCluster::ResumeWorker(int i) {
  Node& w = worker(i);
  KILN_CHECK(w.pid > 0, "ResumeWorker: worker not running");
  kill(w.pid, SIGCONT);
  w.paused = false;
}

absl::Status MiniCluster::RestartWorker(int i) {
  KillNode(worker(i));
  RETURN_IF_ERROR(SpawnWorker(i));
  RETURN_IF_ERROR(WaitForReady(worker(i)));
  return WaitForWorkersAlive(options_.start_timeout);
}

void MiniCluster::KillMaster() { KillNode(master_); }

absl::Status MiniCluster::RestartMaster() {
  KillNode(master_);
  return StartMaster(master_.port, master_.ui_port);
}

// --- Observing ---

absl::StatusOr<Json> MiniCluster::FetchMasterState() const {
  if (master_.pid <= 0 || master_.ui_port <= 0) {
    return absl::UnavailableError("the master is not running");
  }
  ASSIGN_OR_RETURN(std::string body, HttpGet(kHost, master_.ui_port, "/json"));
  Json state = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (state.is_discarded() || !state.is_object()) {
    return absl::DataLossError(StrCat("the master's /json is not a JSON object: ", body));
  }
  return state;
}

Json MiniCluster::MasterState() const {
  absl::StatusOr<Json> state = FetchMasterState();
  return state.ok() ? *std::move(state) : Json();
}

Json MiniCluster::WorkerState(int i) const { return FindWorker(MasterState(), worker(i).port); }

bool MiniCluster::WaitForResourcesFree(std::chrono::milliseconds timeout) const {
  return WaitFor(
      [&] {
        absl::StatusOr<Json> state = FetchMasterState();
        if (!state.ok() || !(*state)["workers"].is_array()) return false;
        for (const Json& w : (*state)["workers"]) {
          if (JsonString(w, "state") != "ALIVE") continue;
          if (JsonInt(w, "coresused") != 0 || JsonInt(w, "memoryused") != 0) return false;
        }
        return true;
      },
      timeout);
}

std::vector<pid_t> MiniCluster::ExecutorPids() const {
  if (temp_dir_.empty()) return {};
  return FindExecutorPids(temp_dir_);
}

bool MiniCluster::WaitNoExecutors(std::chrono::milliseconds timeout) const {
  return WaitFor([&] { return ExecutorPids().empty(); }, timeout);
}

absl::Status MiniCluster::CheckNoLeaks(std::chrono::milliseconds timeout) const {
  std::string leaks;
  if (!WaitForResourcesFree(timeout)) {
    StrAppend(&leaks, "cores or memory still in use (or /json unreachable) after ", timeout.count(),
              " ms: ", MasterState().dump(), "\n");
  }
  if (!WaitNoExecutors(timeout)) {
    StrAppend(&leaks, "executor processes left:\n");
    for (pid_t pid : ExecutorPids()) {
      StrAppend(&leaks, "  pid ", pid, ": ", Join(ProcessArgs(pid), " "), "\n");
    }
  }
  if (leaks.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(leaks);
}

std::string MiniCluster::LogTails(int lines) const {
  std::string out;
  std::vector<const Node*> nodes{&master_};
  for (const Node& w : workers_) nodes.push_back(&w);
  for (const Node* n : nodes) {
    if (n->log_path.empty()) continue;
    StrAppend(&out, "==== ", n->name, ": last ", lines, " lines of ", n->log_path, " ====\n",
              TailFile(n->log_path, lines), "\n");
  }
  return out;
}

// --- Accessors ---

std::string MiniCluster::master_url() const { return StrCat("kiln://", kHost, ":", master_.port); }
int MiniCluster::master_port() const { return master_.port; }
int MiniCluster::master_ui_port() const { return master_.ui_port; }
int MiniCluster::worker_port(int i) const { return worker(i).port; }
int MiniCluster::worker_ui_port(int i) const { return worker(i).ui_port; }
std::string MiniCluster::worker_work_dir(int i) const { return worker(i).work_dir; }
std::string MiniCluster::master_log() const { return master_.log_path; }
std::string MiniCluster::worker_log(int i) const { return worker(i).log_path; }
pid_t MiniCluster::master_pid() const { return master_.pid; }
pid_t MiniCluster::worker_pid(int i) const { return worker(i).pid; }

std::vector<int> MiniCluster::worker_ui_ports() const {
  std::vector<int> ports;
  for (const Node& w : workers_) ports.push_back(w.ui_port);
  return ports;
}

std::vector<std::string> MiniCluster::worker_work_dirs() const {
  std::vector<std::string> dirs;
  for (const Node& w : workers_) dirs.push_back(w.work_dir);
  return dirs;
}

MiniCluster::Node& MiniCluster::worker(int i) {
  KILN_CHECK(i >= 0 && i < num_workers(), "worker index out of range");
  return workers_[i];
}

const MiniCluster::Node& MiniCluster::worker(int i) const {
  KILN_CHECK(i >= 0 && i < num_workers(), "worker index out of range");
  return workers_[i];
}

}  // namespace kiln::test
