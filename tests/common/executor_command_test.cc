// The worker -> executor command line contract: built by the worker, parsed by the
// executor runtime, both through common/executor_command.h.

#include "common/executor_command.h"

#include <string>
#include <vector>

#include "tests/kiln_catch.h"
#include "tests/support/test_util.h"

namespace kiln {
namespace {

ExecutorCommand Sample() {
  return ExecutorCommand{
      .binary_path = "/w/binaries/abc",
      .driver_address = "10.0.0.5:41234",
      .app_id = "app-20240101000000-0001",
      .executor_id = 3,
      .cores = 2,
      .memory_mb = 1536,
      .worker_id = "worker-20240101000000-10.0.0.7-7078",
      .host = "10.0.0.7",
      .shuffle_address = "10.0.0.7:7078",
      .app_dir = "/w/app-20240101000000-0001",
  };
}

// Parses an argv given as strings, as a process would see it.
absl::StatusOr<ExecutorCommand> Parse(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  return ParseExecutorArgv(static_cast<int>(argv.size()), argv.data());
}

TEST_CASE("the executor argv follows the contract exactly", "[executor_command]") {
  std::vector<std::string> expected{
      "/w/binaries/abc",
      "--kiln-executor",
      "--driver=10.0.0.5:41234",
      "--app-id=app-20240101000000-0001",
      "--executor-id=3",
      "--cores=2",
      "--memory-mb=1536",
      "--worker-id=worker-20240101000000-10.0.0.7-7078",
      "--host=10.0.0.7",
      "--shuffle-address=10.0.0.7:7078",
      "--app-dir=/w/app-20240101000000-0001",
      "--credentials-on-stdin=false",
  };
  CHECK(BuildExecutorArgv(Sample()) == expected);
}

TEST_CASE("an executor argv parses back to the command it was built from", "[executor_command]") {
  ExecutorCommand c = Sample();
  c.binary_path = "/path with space/bin";
  c.app_dir = "/dir with space/app=1";
  c.credentials_on_stdin = true;
  std::vector<std::string> argv = BuildExecutorArgv(c);
  REQUIRE(argv.size() == 12);
  std::vector<const char*> raw;
  for (const std::string& a : argv) raw.push_back(a.c_str());
  CHECK(IsExecutorInvocation(static_cast<int>(raw.size()), raw.data()));
  absl::StatusOr<ExecutorCommand> back = Parse(argv);
  REQUIRE_OK(back.status());
  CHECK(back->binary_path == c.binary_path);
  CHECK(back->driver_address == c.driver_address);
  CHECK(back->app_id == c.app_id);
  CHECK(back->executor_id == c.executor_id);
  CHECK(back->cores == c.cores);
  CHECK(back->memory_mb == c.memory_mb);
  CHECK(back->worker_id == c.worker_id);
  CHECK(back->host == c.host);
  CHECK(back->shuffle_address == c.shuffle_address);
  CHECK(back->app_dir == c.app_dir);
  CHECK(back->credentials_on_stdin);
}

TEST_CASE("a user's own command line is not an executor's", "[executor_command]") {
  const char* argv[] = {"/bin/app", "input.txt"};
  CHECK_FALSE(IsExecutorInvocation(2, argv));
  CHECK_FALSE(IsExecutorInvocation(1, argv));
}

TEST_CASE("a malformed executor argv is refused naming the argument", "[executor_command]") {
  std::vector<std::string> argv = BuildExecutorArgv(Sample());
  for (const char* bad :
       {"--cores=0", "--cores=x", "--memory-mb=-1", "--executor-id=", "--colour=blue", "stray"}) {
    std::vector<std::string> args = argv;
    args.push_back(bad);
    absl::StatusOr<ExecutorCommand> parsed = Parse(args);
    REQUIRE_FALSE(parsed.ok());
    CHECK(std::string(parsed.status().message()).find(bad) != std::string::npos);
  }
  absl::StatusOr<ExecutorCommand> missing = Parse({"/bin/app", "--kiln-executor", "--cores=1"});
  REQUIRE_FALSE(missing.ok());
  CHECK(std::string(missing.status().message()).find("--driver") != std::string::npos);
}

TEST_CASE("executor command: a crash report names its task") {
  CHECK(CrashedTaskId("task=17 stage=2 partition=5 SEGV\n") == 17);
  CHECK(CrashedTaskId("task=0 stage=0 partition=0 exit") == 0);
  CHECK(CrashedTaskId("") == -1);
  CHECK(CrashedTaskId("task=x stage=1") == -1);
  CHECK(CrashedTaskId("garbage") == -1);
}

}  // namespace
}  // namespace kiln
