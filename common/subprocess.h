#pragma once
// Child processes started with fork+execve and an argument vector: no shell, so no
// quoting or injection. Used by the worker (executors) and the test harness (daemons).

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace kiln {

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is the program path
  std::vector<std::string> env;   // "K=V"; empty = inherit the parent's
  std::string cwd;                // empty = inherit
  std::string stdout_path;        // empty = inherit
  std::string stderr_path;        // empty = inherit
  bool die_with_parent = true;    // PR_SET_PDEATHSIG(SIGKILL)
  bool new_process_group = true;  // so the whole group can be signalled
  // A cgroup's cgroup.procs file (v1 or v2) the child joins before execve, so that all
  // of its memory is charged there; empty = stay in the parent's cgroup. A child that
  // cannot join says so on its stderr and exits with 125.
  std::string cgroup_procs;
  // What the child reads on its stdin: these bytes, then end of file, through a pipe
  // (at most kMaxStdinBytes, written before the fork); empty = /dev/null.
  std::string stdin_data;
};
inline constexpr size_t kMaxStdinBytes = 64 << 10;  // a pipe's default capacity

// Starts the child. Errors name the program. A program that exists but cannot be
// executed makes the child exit with 127 (seen through Wait).
absl::StatusOr<pid_t> Spawn(const SpawnOptions& options);

// A child forked ahead of time that waits to become a program, for launches whose start
// matters: the fork and, above all, joining a cgroup (a migration that on cgroup v1
// waits for an RCU grace period, 1 to 16 ms on bench/README's machine, and holds the
// kernel's cgroup lock meanwhile) are done before the program is known. Start() then
// hands the child its program, which runs under the child's pid.
//
// Right after the fork the child execs a helper, kiln-exec-standby, so that while it
// waits it holds none of the parent's memory or open descriptors; the helper reads the
// program from a socket on descriptor 3 (common/standby_protocol.h) and execs it.
// Thread-safe for distinct objects.
class StandbyChild {
 public:
  // Forks the child with `options`' die_with_parent, new_process_group and cgroup_procs
  // and runs `helper_argv` (argv[0] its path) in it, with stdout and stderr inherited.
  static absl::StatusOr<std::unique_ptr<StandbyChild>> Fork(
      const std::vector<std::string>& helper_argv, const SpawnOptions& options);
  ~StandbyChild();  // a child not started is killed and reaped
  StandbyChild(const StandbyChild&) = delete;
  StandbyChild& operator=(const StandbyChild&) = delete;

  pid_t pid() const { return pid_; }
  // Waits up to `timeout` for the helper to say it waits for its program: it then is in
  // its cgroup. An error says why not (the child's exit, or the timeout).
  absl::Status WaitReady(std::chrono::milliseconds timeout);
  // Opens the program's files as Spawn does (argv, env, cwd, stdout_path, stderr_path
  // and stdin_data of `program`; the rest is Fork's) and sends them; the helper execs
  // the program. From then on the pid is the caller's to wait for, as Spawn's; on an
  // error it is still this object's.
  absl::Status Start(const SpawnOptions& program);

 private:
  StandbyChild(pid_t pid, int socket) : pid_(pid), socket_(socket) {}
  pid_t pid_;
  int socket_;             // the parent's end; -1 once started
  bool released_ = false;  // started, or reaped: not this object's to kill
};

// How a child ended.
struct ExitInfo {
  int exit_code = 0;  // valid when !signaled
  int signal = 0;     // valid when signaled
  bool signaled = false;
  // Exit code as one integer: the code, or -signal.
  int code() const { return signaled ? -signal : exit_code; }
  std::string ToString() const;
};

// Reaps the child if it has exited; nullopt while it runs.
std::optional<ExitInfo> TryWait(pid_t pid);
// Blocks until the child exits.
ExitInfo Wait(pid_t pid);
// SIGTERM, then SIGKILL after `grace` if it has not exited; reaps it.
ExitInfo Terminate(pid_t pid, std::chrono::milliseconds grace);

}  // namespace kiln
