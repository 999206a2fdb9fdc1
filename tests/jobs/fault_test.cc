// Faults during a job: the output must be byte-identical to a fault-free run, and the
// cluster must end with every core and byte of memory free and no executor left.

#include <signal.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/files.h"
#include "common/subprocess.h"
#include "common/wait.h"
#include "tests/jobs/job_util.h"
#include "tests/kiln_catch.h"
#include "tests/support/mini_cluster.h"
#include "tests/support/test_util.h"

namespace kiln::test::jobs {
namespace {

namespace fs = std::filesystem;

// True once some map task has committed a shuffle output under `dir`.
bool AnyShuffleOutput(const std::string& dir) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->path().extension() == ".index") return true;
  }
  return false;
}

// Runs slow_app with `args` in local[2] (the reference) and on a 2-worker cluster where
// one executor is SIGKILLed once the first map outputs exist; the outputs must be the
// same bytes and the cluster must end idle.
void CheckExecutorKillLeavesOutput(const std::vector<std::string>& args) {
  TempDir dir("kiln-fault-");
  std::vector<std::string> reference_args = {dir.Sub("reference")};
  reference_args.insert(reference_args.end(), args.begin(), args.end());
  CommandResult reference = Submit("local[2]", {}, AppPath("slow_app"), reference_args);
  INFO(reference.ToString());
  REQUIRE(reference.exit_code == 0);

  MiniCluster cluster;
  REQUIRE_OK(cluster.Start());
  SpawnOptions submit;
  submit.argv = {BinPath("kiln-submit"), "--master", cluster.master_url(), "--conf",
                 "kiln.ui.showConsoleProgress=false", AppPath("slow_app"), dir.Sub("out")};
  submit.argv.insert(submit.argv.end(), args.begin(), args.end());
  submit.stdout_path = dir.Sub("submit.out");
  submit.stderr_path = dir.Sub("submit.err");
  absl::StatusOr<pid_t> pid = Spawn(submit);
  REQUIRE(pid.ok());
  struct Reaper {
    pid_t pid;
    bool done = false;
    ~Reaper() {
      if (!done) Terminate(pid, std::chrono::seconds(1));
    }
  } reaper{*pid};

  // Once the first map outputs exist, kill one of the two executors.
  REQUIRE(WaitFor([&] { return AnyShuffleOutput(cluster.temp_dir()); }, seconds(30)));
  std::vector<pid_t> executors = cluster.ExecutorPids();
  REQUIRE_FALSE(executors.empty());
  REQUIRE(kill(executors.front(), SIGKILL) == 0);

  std::optional<ExitInfo> exit;
  REQUIRE(WaitFor([&] { return (exit = TryWait(*pid)).has_value(); }, seconds(60)));
  reaper.done = true;
  INFO("kiln-submit stderr: " << ReadFile(dir.Sub("submit.err")).value_or(""));
  CHECK(exit->code() == 0);
  CHECK(ReadParts(dir.Sub("out")) == ReadParts(dir.Sub("reference")));
  CHECK(fs::exists(dir.Sub("out/_SUCCESS")));
  REQUIRE_OK(CheckClusterIdle(cluster));
}

TEST_CASE("fault: an executor killed mid-job leaves the output byte-identical", "[fault]") {
  CheckExecutorKillLeavesOutput({});
}

TEST_CASE("fault: an executor killed mid-job leaves an unsorted reduce_by_key output "
          "byte-identical", "[fault]") {
  CheckExecutorKillLeavesOutput({"unsorted"});
}

}  // namespace
}  // namespace kiln::test::jobs
