#pragma once
// Child processes started with fork+execve and an argument vector: no shell, so no
// quoting or injection. Used by the worker (executors) and the test harness (daemons).

#include <sys/types.h>

#include <chrono>
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
