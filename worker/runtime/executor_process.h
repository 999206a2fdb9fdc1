#pragma once
// The executor process: what the user's binary becomes when a worker starts it with
// --kiln-executor (kiln::Context detects this and never returns to the user's main).
// It connects one bidirectional stream to the driver, registers (the driver checks the
// binary digest), runs the tasks it is sent on `--cores` threads and streams their
// statuses back in batches. It exits 0 when the driver shuts it down and 1 when the
// driver goes away.

#include <string>

#include "absl/status/statusor.h"

namespace kiln::runtime {

struct ExecutorArgs {
  std::string driver;           // host:port
  std::string app_id;
  int executor_id = 0;
  int cores = 1;
  int64_t memory_mb = 1024;
  std::string worker_id;
  std::string host;
  std::string shuffle_address;  // the worker's shuffle service
  std::string app_dir;
};

// True when argv asks for executor mode (argv[1] == "--kiln-executor").
bool IsExecutorInvocation(int argc, char** argv);
absl::StatusOr<ExecutorArgs> ParseExecutorArgs(int argc, char** argv);

// Runs the executor until the driver shuts it down; returns the process exit code.
int RunExecutorProcess(int argc, char** argv);

}  // namespace kiln::runtime
