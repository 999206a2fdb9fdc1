// Faults during a job: the output must be byte-identical to a fault-free run, and the
// cluster must end with every core and byte of memory free and no executor left.

#include <signal.h>

#include <filesystem>
#include <functional>
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

// kiln-submit of slow_app on `master`, in the background (stdout and stderr in
// DIR/submit.out and DIR/submit.err; `env`: "K=V" laid over the test's environment);
// terminated if the test ends before it does.
class BackgroundSubmit {
 public:
  BackgroundSubmit(const std::string& master, const TempDir& dir,
                   const std::vector<std::string>& app_args, std::vector<std::string> env = {}) {
    SpawnOptions submit;
    submit.argv = {
        BinPath("kiln-submit"), "--master", master, "--conf", "kiln.ui.showConsoleProgress=false",
        AppPath("slow_app")};
    submit.argv.insert(submit.argv.end(), app_args.begin(), app_args.end());
    if (!env.empty()) {
      auto key = [](std::string_view kv) { return kv.substr(0, kv.find('=')); };
      for (char** e = environ; *e != nullptr; ++e) {
        bool replaced = false;
        for (const std::string& kv : env) replaced = replaced || key(kv) == key(*e);
        if (!replaced) submit.env.push_back(*e);
      }
      submit.env.insert(submit.env.end(), env.begin(), env.end());
    }
    submit.stdout_path = dir.Sub("submit.out");
    submit.stderr_path = dir.Sub("submit.err");
    absl::StatusOr<pid_t> pid = Spawn(submit);
    REQUIRE(pid.ok());
    pid_ = *pid;
  }
  BackgroundSubmit(const MiniCluster& cluster, const TempDir& dir,
                   const std::vector<std::string>& app_args)
      : BackgroundSubmit(cluster.master_url(), dir, app_args) {}
  pid_t pid() const { return pid_; }
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

// SIGINT to a driver while its job writes OUTPUT (its tasks stalled): it exits 130, the
// output is gone (no _temporary/ to refuse a rerun), and a rerun succeeds.
void CheckInterruptRemovesOutput(const std::string& master, const TempDir& dir,
                                 const std::function<bool()>& running,
                                 std::vector<std::string> env = {}) {
  {
    BackgroundSubmit submit(master, dir, {dir.Sub("out"), "stall"}, std::move(env));
    REQUIRE(
        WaitFor([&] { return PathExists(dir.Sub("out/_temporary")) && running(); }, seconds(30)));
    REQUIRE(kill(submit.pid(), SIGINT) == 0);
    const std::optional<ExitInfo>& exit = submit.Wait();
    REQUIRE(exit.has_value());
    const std::string err = ReadFile(dir.Sub("submit.err")).value_or("");
    INFO("kiln-submit stderr: " << err);
    CHECK(exit->code() == 128 + SIGINT);
    CHECK(err.find("kiln: interrupted by SIGINT") != std::string::npos);
    CHECK_FALSE(PathExists(dir.Sub("out")));
  }
  CommandResult rerun = Submit(master, {}, AppPath("slow_app"), {dir.Sub("out")});
  INFO(rerun.ToString());
  CHECK(rerun.exit_code == 0);
  CHECK(PathExists(dir.Sub("out/_SUCCESS")));
}

TEST_CASE(
    "fault: an interrupted cluster driver ends its application KILLED at once and leaves no "
    "output",
    "[fault][interrupt]") {
  MiniClusterOptions options;
  options.master_conf = {"kiln.app.timeout=10m"};  // only the driver's own word can end it
  MiniCluster cluster(options);
  REQUIRE_OK(cluster.Start());
  TempDir dir("kiln-fault-");
  CheckInterruptRemovesOutput(cluster.master_url(), dir,
                              [&] { return cluster.ExecutorPids().size() == 2; });
  // The interrupted application (the first one) ended KILLED; the rerun FINISHED.
  Json state = cluster.MasterState();
  INFO("/json: " << state.dump());
  REQUIRE(state.is_object());
  CHECK(state["activeapps"].empty());
  REQUIRE(state["completedapps"].size() == 2);
  CHECK(state["completedapps"][0].value("state", "") == "KILLED");
  CHECK(state["completedapps"][1].value("state", "") == "FINISHED");
  REQUIRE_OK(CheckClusterIdle(cluster));
}

TEST_CASE("fault: an interrupted local driver removes its scratch dir and its output",
          "[fault][interrupt]") {
  TempDir dir("kiln-fault-");
  const std::string tmp = dir.Sub("tmp");
  REQUIRE_OK(MakeDirs(tmp));
  CheckInterruptRemovesOutput("local[2]", dir, [&] { return ListDir(tmp).size() == 1; },
                              {"TMPDIR=" + tmp});
  CHECK(ListDir(tmp).empty());
}

TEST_CASE("fault: a local driver sweeps the scratch dirs of local drivers that were killed",
          "[fault][interrupt]") {
  TempDir dir("kiln-fault-");
  const std::string tmp = dir.Sub("tmp");
  REQUIRE_OK(MakeDirs(tmp));
  {
    BackgroundSubmit submit("local[2]", dir, {dir.Sub("out"), "stall"}, {"TMPDIR=" + tmp});
    REQUIRE(WaitFor([&] { return PathExists(dir.Sub("out/_temporary")); }, seconds(30)));
    REQUIRE(kill(submit.pid(), SIGKILL) == 0);  // no code runs: the dir stays
    REQUIRE(submit.Wait().has_value());
  }
  REQUIRE(ListDir(tmp).size() == 1);
  const std::string stale = ListDir(tmp).front();
  CHECK(stale.starts_with("kiln-local-"));
  // A dir some live process owns is not touched.
  REQUIRE_OK(MakeDirs(tmp + "/kiln-local-live"));
  absl::StatusOr<ScopedFd> owner = LockOwnedDir(tmp + "/kiln-local-live");
  REQUIRE_OK(owner.status());

  CommandResult r = Submit("local[2]", {"--conf", "kiln.local.dir=" + tmp}, AppPath("slow_app"),
                           {dir.Sub("out2")});
  INFO(r.ToString());
  CHECK(r.exit_code == 0);
  CHECK(ListDir(tmp) == std::vector<std::string>{"kiln-local-live"});
}

}  // namespace
}  // namespace kiln::test::jobs
