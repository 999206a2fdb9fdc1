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

// kiln-submit of slow_app on the cluster, in the background (stdout and stderr in
// DIR/submit.out and DIR/submit.err); terminated if the test ends before it does.
class BackgroundSubmit {
 public:
  BackgroundSubmit(const MiniCluster& cluster, const TempDir& dir,
                   const std::vector<std::string>& app_args) {
    SpawnOptions submit;
    submit.argv = {BinPath("kiln-submit"),
                   "--master",
                   cluster.master_url(),
                   "--conf",
                   "kiln.ui.showConsoleProgress=false",
                   AppPath("slow_app")};
    submit.argv.insert(submit.argv.end(), app_args.begin(), app_args.end());
    submit.stdout_path = dir.Sub("submit.out");
    submit.stderr_path = dir.Sub("submit.err");
    absl::StatusOr<pid_t> pid = Spawn(submit);
    REQUIRE(pid.ok());
    pid_ = *pid;
  }
  ~BackgroundSubmit() {
    if (!exit_) Terminate(pid_, std::chrono::seconds(1));
  }
  // Its exit, waiting up to 60 s; null if it is still running.
  const std::optional<ExitInfo>& Wait() {
    WaitFor([&] { return (exit_ = TryWait(pid_)).has_value(); }, seconds(60));
    return exit_;
  }

 private:
  pid_t pid_ = -1;
  std::optional<ExitInfo> exit_;
};

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
  std::vector<std::string> app_args = {dir.Sub("out")};
  app_args.insert(app_args.end(), args.begin(), args.end());
  BackgroundSubmit submit(cluster, dir, app_args);

  // Once the first map outputs exist, kill one of the two executors.
  REQUIRE(WaitFor([&] { return AnyShuffleOutput(cluster.temp_dir()); }, seconds(30)));
  std::vector<pid_t> executors = cluster.ExecutorPids();
  REQUIRE_FALSE(executors.empty());
  REQUIRE(kill(executors.front(), SIGKILL) == 0);

  const std::optional<ExitInfo>& exit = submit.Wait();
  REQUIRE(exit.has_value());
  INFO("kiln-submit stderr: " << ReadFile(dir.Sub("submit.err")).value_or(""));
  CHECK(exit->code() == 0);
  CHECK(ReadParts(dir.Sub("out")) == ReadParts(dir.Sub("reference")));
  CHECK(fs::exists(dir.Sub("out/_SUCCESS")));
  REQUIRE_OK(CheckClusterIdle(cluster));
}

TEST_CASE("fault: an executor killed mid-job leaves the output byte-identical", "[fault]") {
  CheckExecutorKillLeavesOutput({});
}

TEST_CASE(
    "fault: an executor killed mid-job leaves an unsorted reduce_by_key output "
    "byte-identical",
    "[fault]") {
  CheckExecutorKillLeavesOutput({"unsorted"});
}

// A cached dataset whose executor dies between two jobs: the lost partitions are
// recomputed from their lineage (the shuffle files outlive the executor), the others
// read from the surviving executor's cache; the output is the fault-free one.
TEST_CASE("fault: an executor lost with cached partitions leaves the output byte-identical",
          "[fault][cache]") {
  TempDir dir("kiln-fault-");
  WriteTestFile(dir.Sub("reference.go"), "");
  CommandResult reference =
      Submit("local[2]", {}, AppPath("slow_app"), {dir.Sub("reference"), "cached"});
  INFO(reference.ToString());
  REQUIRE(reference.exit_code == 0);
  CHECK(reference.out == "cached 97\n");

  MiniCluster cluster;
  REQUIRE_OK(cluster.Start());
  BackgroundSubmit submit(cluster, dir, {dir.Sub("out"), "cached"});

  REQUIRE(WaitFor([&] { return ReadFile(dir.Sub("submit.out")).value_or("") == "cached 97\n"; },
                  seconds(60)));
  std::vector<pid_t> executors = cluster.ExecutorPids();
  REQUIRE(executors.size() == 2);
  REQUIRE(kill(executors.front(), SIGKILL) == 0);
  WriteTestFile(dir.Sub("out.go"), "");

  const std::optional<ExitInfo>& exit = submit.Wait();
  REQUIRE(exit.has_value());
  INFO("kiln-submit stderr: " << ReadFile(dir.Sub("submit.err")).value_or(""));
  CHECK(exit->code() == 0);
  CHECK(ReadParts(dir.Sub("out")) == ReadParts(dir.Sub("reference")));
  REQUIRE_OK(CheckClusterIdle(cluster));
}

}  // namespace
}  // namespace kiln::test::jobs
