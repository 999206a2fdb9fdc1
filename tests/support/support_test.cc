// The test support itself: RunCommand, /proc scanning, TailFile. Starts processes,
// so it is labelled "integration".
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "common/subprocess.h"
#include "common/wait.h"
#include "tests/kiln_catch.h"
#include "tests/support/processes.h"
#include "tests/support/run_command.h"
#include "tests/support/test_util.h"

namespace kiln::test {
namespace {

using std::chrono::milliseconds;

TEST_CASE("support: RunCommand captures exit code, stdout and stderr", "[support]") {
  CommandResult r =
      RunCommand({"sh", "-c", "echo out; echo err >&2; exit 4"}, milliseconds(30'000));
  INFO(r.ToString());
  CHECK(r.exit_code == 4);
  CHECK_FALSE(r.timed_out);
  CHECK(r.out == "out\n");
  CHECK(r.err == "err\n");
}

TEST_CASE("support: RunCommand lays extra variables over the environment", "[support]") {
  CommandResult r = RunCommand({"/bin/sh", "-c", "echo \"$KILN_A-$HOME\""}, milliseconds(30'000),
                               {"KILN_A=1", "HOME=/nowhere"});
  INFO(r.ToString());
  CHECK(r.exit_code == 0);
  CHECK(r.out == "1-/nowhere\n");
}

TEST_CASE("support: RunCommand kills a command that overruns its timeout", "[support]") {
  auto start = std::chrono::steady_clock::now();
  CommandResult r = RunCommand({"/bin/sleep", "60"}, milliseconds(300));
  INFO(r.ToString());
  CHECK(r.timed_out);
  CHECK(r.exit_code == -SIGKILL);
  CHECK(std::chrono::steady_clock::now() - start < milliseconds(30'000));
}

TEST_CASE("support: RunCommand reports a program that cannot run", "[support]") {
  CommandResult r = RunCommand({"/nonexistent/program"}, milliseconds(30'000));
  CHECK(r.exit_code == 127);
  CHECK(RunCommand({}, milliseconds(1000)).exit_code == -1);
}

TEST_CASE("support: ProcessArgs reads this process's command line", "[support]") {
  std::vector<std::string> args = ProcessArgs(getpid());
  REQUIRE_FALSE(args.empty());
  CHECK(args[0].find("support_test") != std::string::npos);
  CHECK(ProcessAlive(getpid()));
  CHECK(ProcessArgs(-1).empty());
}

TEST_CASE("support: FindExecutorPids matches --app-dir under a directory", "[support]") {
  TempDir dir;
  // Stand-ins for executors: the shell keeps its arguments in its command line.
  auto fake = [](std::vector<std::string> extra) {
    SpawnOptions options;
    options.argv = {"/bin/sh", "-c", "sleep 60; :", "sh"};
    options.argv.insert(options.argv.end(), extra.begin(), extra.end());
    absl::StatusOr<pid_t> pid = Spawn(options);
    REQUIRE(pid.ok());
    return *pid;
  };
  std::vector<pid_t> pids{
      fake({"--kiln-executor", "--app-dir=" + dir.Sub("work/app-1")}),    // matches
      fake({"--kiln-executor", "--app-dir", dir.Sub("work/app-2")}),      // matches
      fake({"--app-dir=" + dir.Sub("work/app-3")}),                       // not an executor
      fake({"--kiln-executor", "--app-dir=" + dir.path() + "-other/a"}),  // another dir
      fake({"--kiln-executor", "--app-dir=" + dir.path()}),               // the dir itself
  };
  std::vector<pid_t> found;
  bool ok = WaitFor(
      [&] {
        found = FindExecutorPids(dir.path());
        std::sort(found.begin(), found.end());
        std::vector<pid_t> want{pids[0], pids[1]};
        std::sort(want.begin(), want.end());
        return found == want;
      },
      milliseconds(10'000));
  for (pid_t pid : pids) {
    kill(-pid, SIGKILL);  // the shell and its sleep
    kill(pid, SIGKILL);
    Wait(pid);
  }
  CHECK(ok);
  CHECK_FALSE(ProcessAlive(pids[0]));
}

TEST_CASE("support: TailFile keeps the last lines", "[support]") {
  TempDir dir;
  std::string path = dir.Sub("log");
  std::ofstream(path) << "1\n2\n3\n4\n";
  CHECK(TailFile(path, 2) == "3\n4\n");
  CHECK(TailFile(path, 10) == "1\n2\n3\n4\n");
  CHECK(TailFile(path, 0) == "");
  CHECK(TailFile(dir.Sub("missing"), 3) == "");
  std::ofstream(path) << "no newline\nlast";
  CHECK(TailFile(path, 1) == "last");
}

}  // namespace
}  // namespace kiln::test
