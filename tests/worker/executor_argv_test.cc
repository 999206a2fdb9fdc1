// The worker -> executor command line contract.

#include "worker/executor_argv.h"

#include <string>
#include <vector>

#include "tests/kiln_catch.h"

namespace kiln::worker {
namespace {

TEST_CASE("the executor argv follows the contract exactly", "[worker]") {
  ExecutorCommand c{
      .binary_path = "/w/binaries/abc",
      .driver_address = "10.0.0.5:41234",
      .app_id = "app-20240101000000-0001",
      .executor_id = 3,
      .cores = 2,
      .memory_mb = 1536,
      .worker_id = "worker-20240101000000-10.0.0.7-7078",
      .worker_host = "10.0.0.7",
      .worker_port = 7078,
      .app_dir = "/w/app-20240101000000-0001",
  };
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
  };
  CHECK(BuildExecutorArgv(c) == expected);
}

TEST_CASE("argv values with spaces stay one argument each", "[worker]") {
  ExecutorCommand c;
  c.binary_path = "/path with space/bin";
  c.app_dir = "/dir with space/app";
  std::vector<std::string> argv = BuildExecutorArgv(c);
  REQUIRE(argv.size() == 11);
  CHECK(argv[0] == "/path with space/bin");
  CHECK(argv[10] == "--app-dir=/dir with space/app");
}

}  // namespace
}  // namespace kiln::worker
