// Child processes (common/subprocess.h). These tests start real processes, so they are
// labelled "integration".
#include "common/subprocess.h"

#include <signal.h>
#include <stdlib.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/files.h"
#include "common/wait.h"
#include "tests/kiln_catch.h"
#include "tests/support/processes.h"
#include "tests/support/test_util.h"

namespace kiln {
namespace {

using std::chrono::milliseconds;

SpawnOptions Argv(std::vector<std::string> argv) {
  SpawnOptions options;
  options.argv = std::move(argv);
  return options;
}

ExitInfo RunToEnd(const SpawnOptions& options) {
  absl::StatusOr<pid_t> pid = Spawn(options);
  REQUIRE(pid.ok());
  return Wait(*pid);
}

TEST_CASE("subprocess: exit codes of /bin/true and /bin/false", "[subprocess]") {
  ExitInfo t = RunToEnd(Argv({"/bin/true"}));
  CHECK_FALSE(t.signaled);
  CHECK(t.exit_code == 0);
  CHECK(t.code() == 0);
  CHECK(t.ToString() == "exit code 0");

  ExitInfo f = RunToEnd(Argv({"/bin/false"}));
  CHECK_FALSE(f.signaled);
  CHECK(f.exit_code == 1);
  CHECK(f.ToString() == "exit code 1");
}

TEST_CASE("subprocess: a program that does not exist exits 127", "[subprocess]") {
  ExitInfo e = RunToEnd(Argv({"/nonexistent/kiln-no-such-program", "--flag"}));
  CHECK_FALSE(e.signaled);
  CHECK(e.exit_code == 127);
}

TEST_CASE("subprocess: stdin_data is the child's whole stdin, else stdin is empty",
          "[subprocess]") {
  test::TempDir dir;
  SpawnOptions fed = Argv({"/bin/cat"});
  fed.stdin_data = std::string(40000, 'k') + "end";
  fed.stdout_path = dir.Sub("fed");
  CHECK(RunToEnd(fed).exit_code == 0);
  CHECK(ReadFile(dir.Sub("fed")).value_or("") == fed.stdin_data);

  SpawnOptions empty = Argv({"/bin/cat"});
  empty.stdout_path = dir.Sub("empty");
  CHECK(RunToEnd(empty).exit_code == 0);
  CHECK(ReadFile(dir.Sub("empty")).value_or("x").empty());

  SpawnOptions huge = Argv({"/bin/cat"});
  huge.stdin_data = std::string(kMaxStdinBytes + 1, 'x');
  CHECK(absl::IsInvalidArgument(Spawn(huge).status()));
}

TEST_CASE("subprocess: an empty argv is refused", "[subprocess]") {
  absl::StatusOr<pid_t> pid = Spawn({});
  REQUIRE_FALSE(pid.ok());
  CHECK(pid.status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("subprocess: stdout and stderr go to files, arguments are passed verbatim",
          "[subprocess]") {
  test::TempDir dir;
  std::string out = dir.Sub("out.log");
  std::string err = dir.Sub("err.log");
  SpawnOptions options = Argv(
      {"/bin/sh", "-c", "echo \"$1\"; echo oops >&2; exit 3", "sh", "two words; $(not expanded)"});
  options.stdout_path = out;
  options.stderr_path = err;
  ExitInfo e = RunToEnd(options);
  CHECK(e.exit_code == 3);
  CHECK(ReadFile(out).value() == "two words; $(not expanded)\n");
  CHECK(ReadFile(err).value() == "oops\n");
}

TEST_CASE("subprocess: environment and working directory", "[subprocess]") {
  test::TempDir dir;
  std::string out = dir.Sub("out");
  SpawnOptions options = Argv({"/bin/sh", "-c", "echo \"$KILN_X\"; pwd"});
  options.env = {"KILN_X=hello", "PATH=/usr/bin:/bin"};
  options.cwd = dir.path();
  options.stdout_path = out;
  ExitInfo e = RunToEnd(options);
  CHECK(e.exit_code == 0);
  CHECK(ReadFile(out).value() == "hello\n" + dir.path() + "\n");
}

TEST_CASE("subprocess: an unwritable output path is an error naming it", "[subprocess]") {
  SpawnOptions options = Argv({"/bin/true"});
  options.stdout_path = "/nonexistent/dir/out.log";
  absl::StatusOr<pid_t> pid = Spawn(options);
  REQUIRE_FALSE(pid.ok());
  CHECK(std::string(pid.status().message()).find("/nonexistent/dir/out.log") != std::string::npos);
}

TEST_CASE("subprocess: TryWait sees a running child, and Terminate ends it by signal",
          "[subprocess]") {
  absl::StatusOr<pid_t> pid = Spawn(Argv({"/bin/sleep", "60"}));
  REQUIRE(pid.ok());
  // Signal it only once it runs `sleep`: between fork and execve the child is still a
  // copy of this test, with Catch2's signal handlers.
  REQUIRE(WaitFor(
      [&] {
        return test::ProcessArgs(*pid) == std::vector<std::string>{"/bin/sleep", "60"};
      },
      milliseconds(10'000)));
  CHECK_FALSE(TryWait(*pid).has_value());
  auto start = std::chrono::steady_clock::now();
  ExitInfo e = Terminate(*pid, milliseconds(10'000));
  CHECK(e.signaled);
  CHECK(e.signal == SIGTERM);
  CHECK(e.code() == -SIGTERM);
  CHECK(e.ToString().find("signal 15") != std::string::npos);
  // SIGTERM ends sleep at once: no need to wait for the grace period.
  CHECK(std::chrono::steady_clock::now() - start < milliseconds(5'000));
}

TEST_CASE("subprocess: Terminate falls back to SIGKILL after the grace period", "[subprocess]") {
  // The shell ignores SIGTERM (and says so through a file once it does).
  test::TempDir dir;
  std::string marker = dir.Sub("trapped");
  absl::StatusOr<pid_t> pid = Spawn(Argv(
      {"/bin/sh", "-c", "trap '' TERM; echo > \"$1\"; while :; do sleep 1; done", "sh", marker}));
  REQUIRE(pid.ok());
  REQUIRE(WaitFor([&] { return ReadFile(marker).ok(); }, milliseconds(10'000)));
  ExitInfo e = Terminate(*pid, milliseconds(300));
  CHECK(e.signaled);
  CHECK(e.signal == SIGKILL);
  // The orphaned `sleep` of the shell is in the child's process group: clean it up.
  kill(-*pid, SIGKILL);
}

TEST_CASE("subprocess: TryWait reaps an exited child once", "[subprocess]") {
  absl::StatusOr<pid_t> pid = Spawn(Argv({"/bin/false"}));
  REQUIRE(pid.ok());
  std::optional<ExitInfo> info;
  REQUIRE(WaitFor([&] { return (info = TryWait(*pid)).has_value(); }, milliseconds(10'000)));
  CHECK(info->exit_code == 1);
}

// The helper standby processes run (worker/exec_standby_main.cc), built with the tests.
const std::vector<std::string> kHelper = {KILN_BIN_DIR "/kiln-exec-standby"};

std::unique_ptr<StandbyChild> ReadyStandby() {
  absl::StatusOr<std::unique_ptr<StandbyChild>> child = StandbyChild::Fork(kHelper, {});
  REQUIRE_OK(child.status());
  REQUIRE_OK((*child)->WaitReady(milliseconds(10'000)));
  return *std::move(child);
}

TEST_CASE(
    "standby child: its program runs under its pid with its files, environment, "
    "directory and stdin",
    "[subprocess]") {
  test::TempDir dir;
  std::unique_ptr<StandbyChild> child = ReadyStandby();
  const pid_t pid = child->pid();
  // Waiting, it is the small helper, not a copy of this test.
  CHECK(test::ProcessArgs(pid) == kHelper);
  SpawnOptions program =
      Argv({"/bin/sh", "-c", "echo \"$KILN_X\" \"$1\"; pwd; echo $$; cat; echo oops >&2; exit 4",
            "sh", "two words; $(not expanded)"});
  program.env = {"KILN_X=hello", "PATH=/usr/bin:/bin"};
  program.cwd = dir.path();
  program.stdout_path = dir.Sub("out");
  program.stderr_path = dir.Sub("err");
  program.stdin_data = std::string(30000, 'k');
  REQUIRE_OK(child->Start(program));
  child.reset();  // started: the pid is ours to wait for, not killed
  ExitInfo e = Wait(pid);
  CHECK(e.exit_code == 4);
  CHECK(ReadFile(dir.Sub("out")).value_or("") == "hello two words; $(not expanded)\n" + dir.path() +
                                                     "\n" + std::to_string(pid) + "\n" +
                                                     std::string(30000, 'k'));
  CHECK(ReadFile(dir.Sub("err")).value_or("") == "oops\n");
}

TEST_CASE("standby child: an empty environment is the parent's, stdin is empty by default",
          "[subprocess]") {
  test::TempDir dir;
  setenv("KILN_STANDBY_TEST", "inherited", 1);
  std::unique_ptr<StandbyChild> child = ReadyStandby();
  const pid_t pid = child->pid();
  SpawnOptions program = Argv({"/bin/sh", "-c", "echo \"$KILN_STANDBY_TEST\"; cat"});
  program.stdout_path = dir.Sub("out");
  REQUIRE_OK(child->Start(program));
  child.reset();
  CHECK(Wait(pid).exit_code == 0);
  CHECK(ReadFile(dir.Sub("out")).value_or("") == "inherited\n");
  unsetenv("KILN_STANDBY_TEST");
}

TEST_CASE(
    "standby child: a program it cannot execute exits 127, an unwritable output path "
    "is an error and leaves it waiting",
    "[subprocess]") {
  std::unique_ptr<StandbyChild> child = ReadyStandby();
  const pid_t pid = child->pid();
  SpawnOptions unwritable = Argv({"/bin/true"});
  unwritable.stdout_path = "/nonexistent/dir/out.log";
  absl::Status refused = child->Start(unwritable);
  CHECK(test::Message(refused).find("/nonexistent/dir/out.log") != std::string::npos);
  CHECK_FALSE(TryWait(pid).has_value());
  REQUIRE_OK(child->Start(Argv({"/nonexistent/kiln-no-such-program"})));
  child.reset();
  CHECK(Wait(pid).exit_code == 127);
}

TEST_CASE(
    "standby child: one never started is killed and reaped, a helper that cannot run "
    "is reported",
    "[subprocess]") {
  std::unique_ptr<StandbyChild> child = ReadyStandby();
  const pid_t pid = child->pid();
  child.reset();
  CHECK(kill(pid, 0) != 0);  // reaped, not a zombie
  CHECK(errno == ESRCH);

  absl::StatusOr<std::unique_ptr<StandbyChild>> missing =
      StandbyChild::Fork({"/nonexistent/kiln-exec-standby"}, {});
  REQUIRE_OK(missing.status());
  absl::Status ready = (*missing)->WaitReady(milliseconds(10'000));
  CHECK(absl::IsUnavailable(ready));
  CHECK(test::Message(ready).find("exit code 127") != std::string::npos);

  // A helper that never says it is ready.
  absl::StatusOr<std::unique_ptr<StandbyChild>> silent =
      StandbyChild::Fork({"/bin/sleep", "60"}, {});
  REQUIRE_OK(silent.status());
  CHECK(absl::IsDeadlineExceeded((*silent)->WaitReady(milliseconds(200))));
}

}  // namespace
}  // namespace kiln
