#include "common/executor_command.h"

#include "common/strings.h"

namespace kiln {

int64_t CrashedTaskId(std::string_view report) {
  if (!report.starts_with("task=")) return -1;
  report.remove_prefix(5);
  const size_t end = report.find(' ');
  int64_t id = -1;
  if (!ParseNumber(report.substr(0, end), &id) || id < 0) return -1;
  return id;
}

std::string ExecutorDir(const std::string& app_dir, int executor_id) {
  return StrCat(app_dir, "/executor-", executor_id);
}

std::vector<std::string> BuildExecutorArgv(const ExecutorCommand& c) {
  return {
      c.binary_path,
      std::string(kExecutorFlag),
      StrCat("--driver=", c.driver_address),
      StrCat("--app-id=", c.app_id),
      StrCat("--executor-id=", c.executor_id),
      StrCat("--cores=", c.cores),
      StrCat("--memory-mb=", c.memory_mb),
      StrCat("--worker-id=", c.worker_id),
      StrCat("--host=", c.host),
      StrCat("--shuffle-address=", c.shuffle_address),
      StrCat("--app-dir=", c.app_dir),
      StrCat("--credentials-on-stdin=", c.credentials_on_stdin),
  };
}

bool IsExecutorInvocation(int argc, const char* const* argv) {
  return argc >= 2 && std::string_view(argv[1]) == kExecutorFlag;
}

absl::StatusOr<ExecutorCommand> ParseExecutorArgv(int argc, const char* const* argv) {
  ExecutorCommand c;
  if (argc > 0) c.binary_path = argv[0];
  for (int i = 2; i < argc; ++i) {
    std::string_view arg(argv[i]);
    const size_t eq = arg.find('=');
    bool ok = arg.starts_with("--") && eq != std::string_view::npos;
    if (ok) {
      const std::string_view key = arg.substr(2, eq - 2), value = arg.substr(eq + 1);
      if (key == "driver")
        c.driver_address = value;
      else if (key == "app-id")
        c.app_id = value;
      else if (key == "executor-id")
        ok = ParseNumber(value, &c.executor_id);
      else if (key == "cores")
        ok = ParseNumber(value, &c.cores) && c.cores > 0;
      else if (key == "memory-mb")
        ok = ParseNumber(value, &c.memory_mb) && c.memory_mb > 0;
      else if (key == "worker-id")
        c.worker_id = value;
      else if (key == "host")
        c.host = value;
      else if (key == "shuffle-address")
        c.shuffle_address = value;
      else if (key == "app-dir")
        c.app_dir = value;
      else if (key == "credentials-on-stdin")
        ok = ParseBool(value, &c.credentials_on_stdin);
      else
        ok = false;
    }
    if (!ok) return absl::InvalidArgumentError(StrCat("executor: bad argument '", arg, "'"));
  }
  if (c.driver_address.empty() || c.app_id.empty() || c.app_dir.empty()) {
    return absl::InvalidArgumentError("executor: --driver, --app-id and --app-dir are required");
  }
  return c;
}

}  // namespace kiln
