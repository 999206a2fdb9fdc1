#pragma once
// The command line a worker starts an executor with: the contract between the worker
// daemon, which builds it, and the executor runtime inside the application's binary,
// which parses it. Both sides use this file, so they cannot drift apart:
//
//   <binary> --kiln-executor --driver=H:P --app-id=A --executor-id=N --cores=C
//            --memory-mb=M --worker-id=W --host=H --shuffle-address=H:P --app-dir=D
//            [--credentials-on-stdin=true]
//
// One argument per value (the worker uses execve, no shell), so values may hold spaces.
// Pure functions: thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace kiln {

struct ExecutorCommand {
  std::string binary_path;     // argv[0]: the application binary the worker cached
  std::string driver_address;  // host:port of the driver's gRPC service
  std::string app_id;
  int executor_id = 0;
  int cores = 1;
  int64_t memory_mb = 1024;
  std::string worker_id;
  std::string host;             // the host the worker advertises: the executor's host
  std::string shuffle_address;  // host:port of the worker's shuffle service
  std::string app_dir;          // absolute <work-dir>/<app-id> on the worker
  // The worker writes the cluster's credentials (rpc::EncodeCredentials) to the
  // executor's stdin and closes it: secrets never appear in an argv or environment.
  bool credentials_on_stdin = false;
};

inline constexpr std::string_view kExecutorFlag = "--kiln-executor";
// Where the worker serves the executor's stdout and stderr (http://host:ui-port/logs/
// <app-id>/executor-<n>), in the executor's environment rather than its argv: a binary
// built before it ignores it.
inline constexpr std::string_view kExecutorLogUrlEnv = "KILN_EXECUTOR_LOG_URL";
// The SHA-256 digest of the binary, which the worker checked when it fetched it, also in
// the environment: the executor shows it to its driver without hashing itself again at
// start (12 ms for a 20 MB binary). An executor started without it hashes its binary.
inline constexpr std::string_view kExecutorBinaryDigestEnv = "KILN_EXECUTOR_BINARY_DIGEST";

// The executor's own directory on the worker (stdout, stderr, scratch files).
std::string ExecutorDir(const std::string& app_dir, int executor_id);
// The file an executor creates in its directory once its driver has accepted it: the
// worker reports it RUNNING only then, so that executors that die before they reach
// their driver count as failures in a row (kiln.deploy.maxExecutorRetries).
inline constexpr std::string_view kRegisteredFile = "registered";
// An executor exits with this code when the stream to its driver, which had accepted it,
// breaks without a shutdown: the driver is gone (killed, crashed) or cut off. The
// master then stops launching executors for the application and ends it once none of
// its executors runs, instead of relaunching executors that cannot reach it.
inline constexpr int kExitDriverLost = 56;
// The file an executor writes in its directory when one of its tasks crashes it (see
// runtime/crash_report.h): "task=<id> stage=<s> partition=<p> <how>".
inline constexpr std::string_view kCrashedTaskFile = "crashed-task";
// The task id of such a report, or -1 when `report` is empty or not one.
int64_t CrashedTaskId(std::string_view report);

std::vector<std::string> BuildExecutorArgv(const ExecutorCommand& command);

// True when argv is an executor's: argv[1] is --kiln-executor.
bool IsExecutorInvocation(int argc, const char* const* argv);

// Reads back what BuildExecutorArgv built. INVALID_ARGUMENT naming the argument that is
// unknown or malformed, or the required one (--driver, --app-id, --app-dir) missing.
absl::StatusOr<ExecutorCommand> ParseExecutorArgv(int argc, const char* const* argv);

}  // namespace kiln
