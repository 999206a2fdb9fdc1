#pragma once
// The command line a worker starts an executor with: the contract between the worker
// and the executor runtime, which parses exactly these flags. Thread-compatible.

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::worker {

struct ExecutorCommand {
  std::string binary_path;      // the cached application binary (argv[0])
  std::string driver_address;   // host:port of the driver's gRPC service
  std::string app_id;
  int executor_id = 0;
  int cores = 0;
  int64_t memory_mb = 0;
  std::string worker_id;
  std::string worker_host;      // the host the worker advertises
  int worker_port = 0;          // the worker's gRPC port (control + shuffle service)
  std::string app_dir;          // absolute <work-dir>/<app-id>
};

// [binary, --kiln-executor, --driver=, --app-id=, --executor-id=, --cores=,
//  --memory-mb=, --worker-id=, --host=, --shuffle-address=<host>:<port>, --app-dir=]
std::vector<std::string> BuildExecutorArgv(const ExecutorCommand& command);

}  // namespace kiln::worker
