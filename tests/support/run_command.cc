#include "tests/support/run_command.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>

#include "common/files.h"
#include "common/strings.h"
#include "common/subprocess.h"
#include "common/wait.h"
#include "tests/support/test_util.h"

extern char** environ;

namespace kiln::test {
namespace {

std::string KeyOf(std::string_view entry) { return std::string(entry.substr(0, entry.find('='))); }

// argv[0] as given when it holds a '/', else the first executable match in $PATH.
std::string ResolveProgram(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  for (std::string_view dir : Split(path != nullptr ? path : "/usr/bin:/bin", ':', true)) {
    std::string candidate = StrCat(dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return name;
}

}  // namespace

std::string CommandResult::ToString() const {
  return StrCat("exit code ", exit_code, timed_out ? " (timed out)" : "", "\n--- stdout ---\n", out,
                "\n--- stderr ---\n", err);
}

std::vector<std::string> EnvironmentWith(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string key = KeyOf(*e);
    bool replaced = false;
    for (const std::string& x : extra) replaced = replaced || KeyOf(x) == key;
    if (!replaced) env.emplace_back(*e);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

CommandResult RunCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                         const std::vector<std::string>& env) {
  CommandResult result;
  if (argv.empty()) {
    result.err = "RunCommand: empty argv";
    return result;
  }
  TempDir dir("kiln-cmd-");
  SpawnOptions options;
  options.argv = argv;
  options.argv[0] = ResolveProgram(argv[0]);
  options.env = EnvironmentWith(env);
  options.stdout_path = dir.Sub("stdout");
  options.stderr_path = dir.Sub("stderr");
  absl::StatusOr<pid_t> pid = Spawn(options);
  if (!pid.ok()) {
    result.err = StrCat("cannot start ", argv[0], ": ", pid.status().message());
    return result;
  }
  std::optional<ExitInfo> exit;
  if (!WaitFor([&] { return (exit = TryWait(*pid)).has_value(); }, timeout)) {
    result.timed_out = true;
    kill(-*pid, SIGKILL);  // the child leads its own process group
    kill(*pid, SIGKILL);
    exit = Wait(*pid);
  }
  result.exit_code = exit->code();
  result.out = ReadFile(options.stdout_path).value_or("");
  result.err = ReadFile(options.stderr_path).value_or("");
  return result;
}

}  // namespace kiln::test
