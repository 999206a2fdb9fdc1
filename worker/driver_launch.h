#pragma once
// The steps of starting one driver in cluster deploy mode, as plain functions that
// DriverRunner runs in order (and tests call directly): validate the master's request
// and complete its settings; prepare the driver's directory; build the process's argv,
// environment and stdin (the contract in common/driver_command.h); and say how a run
// ended. Stateless; thread-safe.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/rpc_security.h"
#include "common/subprocess.h"
#include "proto/common.pb.h"
#include "proto/worker.pb.h"

namespace kiln::worker {

// The driver's own hard link to its binary in its dir: the binary cache may then remove
// its entry without taking the file the driver runs from (and serves to its executors).
inline constexpr std::string_view kDriverBinaryName = "binary";

// Checks the request's fields and returns the request as the driver gets it: its conf
// with kiln.driver.host = `host` unless set (so that it advertises an address its
// executors reach), without the worker token. INVALID_ARGUMENT naming the field
// (driver_id, attempt, binary_digest, binary_size, cores, memory_mb, conf) otherwise. A
// driver id must start with "driver-": the work dir's other entries (app-*, binaries)
// can never be one.
absl::StatusOr<proto::LaunchDriverRequest> ValidateDriverLaunch(
    const proto::LaunchDriverRequest& request, const std::string& host);

// Makes the driver's dir; for a relaunch (attempt > 0) renames the earlier run's stdout
// and stderr to stdout.<attempt-1> and stderr.<attempt-1>; links `cached_binary` in as
// kDriverBinaryName. Returns the path to run (`cached_binary` itself when the cache is
// on another file system). Errors name the path.
absl::StatusOr<std::string> PrepareDriverDir(const std::string& dir, int attempt,
                                             const std::string& cached_binary);

// argv {binary, args...}, cwd and stdout/stderr files in `dir`, dies with its parent,
// the worker's environment without its secret plus KILN_SUBMIT_CONF, KILN_DRIVER_ID
// and KILN_CREDENTIALS_ON_STDIN=1, and `credentials` on stdin.
SpawnOptions DriverSpawnOptions(const proto::LaunchDriverRequest& request, const std::string& dir,
                                const std::string& binary, const rpc::Credentials& credentials);

// How a run ended, as reported: KILLED when the worker stopped it on request, FINISHED
// for exit status 0, else FAILED "exited with code N" / "killed by signal N (...)" with
// the last line of `dir`/stderr.
struct DriverEnd {
  proto::DriverState state = proto::DRIVER_FAILED;
  std::string message;
};
DriverEnd DescribeDriverExit(const ExitInfo& exit, bool killed, const std::string& dir);

// FINISHED, FAILED, ... (the enum's name without DRIVER_).
std::string DriverStateName(proto::DriverState state);

}  // namespace kiln::worker
