#include "worker/executor_argv.h"

#include "common/strings.h"

namespace kiln::worker {

std::vector<std::string> BuildExecutorArgv(const ExecutorCommand& c) {
  return {
      c.binary_path,
      "--kiln-executor",
      StrCat("--driver=", c.driver_address),
      StrCat("--app-id=", c.app_id),
      StrCat("--executor-id=", c.executor_id),
      StrCat("--cores=", c.cores),
      StrCat("--memory-mb=", c.memory_mb),
      StrCat("--worker-id=", c.worker_id),
      StrCat("--host=", c.worker_host),
      StrCat("--shuffle-address=", c.worker_host, ":", c.worker_port),
      StrCat("--app-dir=", c.app_dir),
  };
}

}  // namespace kiln::worker
