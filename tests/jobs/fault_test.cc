// Faults during a job: the output must be byte-identical to a fault-free run, and the
// cluster must end with every core and byte of memory free and no executor left.

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "common/files.h"
#include "common/subprocess.h"
#include "common/wait.h"
#include "tests/jobs/background_submit.h"
#include "tests/jobs/job_util.h"
#include "tests/kiln_catch.h"
#include "tests/support/mini_cluster.h"
#include "tests/support/test_util.h"

namespace kiln::test::jobs {
namespace {

namespace fs = std::filesystem;

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
  REQUIRE(WaitFor([&] { return MapOutputsUnder(cluster.temp_dir()) > 0; }, seconds(30)));
  std::vector<pid_t> executors = cluster.ExecutorPids();
  REQUIRE_FALSE(executors.empty());
  REQUIRE(kill(executors.front(), SIGKILL) == 0);

  ExpectSameOutput(submit, dir, cluster);
  CHECK(fs::exists(dir.Sub("out/_SUCCESS")));
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

// slow_app MODE (cached, reuse or disk) on a 2-worker cluster (`options`); between its
// two jobs, `fault` breaks something. The output must be the fault-free one and the
// cluster must end idle. `env`: laid over the driver's environment. Returns the driver's
// stderr.
std::string CheckFaultBetweenJobs(const std::string& mode,
                                  const std::function<void(MiniCluster&)>& fault,
                                  MiniClusterOptions options = {},
                                  std::vector<std::string> env = {}) {
  TempDir dir("kiln-fault-");
  WriteTestFile(dir.Sub("reference.go"), "");
  CommandResult reference =
      Submit("local[2]", {}, AppPath("slow_app"), {dir.Sub("reference"), mode});
  INFO(reference.ToString());
  REQUIRE(reference.exit_code == 0);
  CHECK(reference.out == "cached 97\n");

  MiniCluster cluster(std::move(options));
  REQUIRE_OK(cluster.Start());
  BackgroundSubmit submit(cluster.master_url(), dir, {dir.Sub("out"), mode}, std::move(env));
  REQUIRE(WaitFor([&] { return ReadFile(dir.Sub("submit.out")).value_or("") == "cached 97\n"; },
                  seconds(60)));
  fault(cluster);
  WriteTestFile(dir.Sub("out.go"), "");

  return ExpectSameOutput(submit, dir, cluster);
}

// A stage the driver ran, from its info log ("stage N (NAME): T task(s), ...").
struct StageRun {
  std::string name;
  int tasks = 0;
  bool reads_shuffle = false;
};
std::vector<StageRun> StageRuns(const std::string& err) {
  static const std::regex kStage(R"(stage \d+ \((.*)\): (\d+) task\(s\))");
  std::vector<StageRun> stages;
  for (const std::string& line : SplitLines(err)) {
    std::smatch m;
    if (!std::regex_search(line, m, kStage)) continue;
    stages.push_back({m[1], std::stoi(m[2]), line.find("shuffle read") != std::string::npos});
  }
  return stages;
}

// A worker lost with its executors after the map stage: the next job's reads of its map
// outputs fail, and exactly those map tasks run again, on the other worker.
TEST_CASE("fault: a worker SIGKILLed after the map stage costs exactly its map outputs",
          "[fault][worker]") {
  MiniClusterOptions options;
  options.master_conf = {"kiln.worker.timeout=2s"};
  options.worker_conf = {"kiln.worker.heartbeatInterval=200ms"};
  int lost = 0;
  const std::string err = CheckFaultBetweenJobs(
      "reuse",
      [&](MiniCluster& cluster) {
        lost = MapOutputsUnder(cluster.worker_work_dir(1), /*shuffle=*/0);
        cluster.KillWorker(1);  // its executor dies with it
        CHECK(WaitFor([&] { return cluster.WorkerState(1).value("state", "") == "DEAD"; },
                      seconds(30)));
        CHECK(cluster.MasterState().value("cores", 0) == 2);
      },
      options, {"KILN_LOG_LEVEL=info", "KILN_CONF_kiln_shuffle_io_retryWait=200ms"});
  INFO(err);
  CHECK(lost > 0);
  CHECK(lost < 16);
  const std::vector<StageRun> stages = StageRuns(err);
  REQUIRE_FALSE(stages.empty());
  CHECK(stages.front().tasks == 16);  // the first job's map stage (reads the input)
  CHECK_FALSE(stages.front().reads_shuffle);
  int reruns = 0;
  for (size_t i = 1; i < stages.size(); ++i) {
    if (stages[i].name != stages.front().name || stages[i].reads_shuffle) continue;
    ++reruns;
    CHECK(stages[i].tasks == lost);
  }
  CHECK(reruns == 1);
  CHECK(err.find("fetch failure for shuffle 0") != std::string::npos);
}

// Flips one byte in the middle of every regular file under `root` whose path matches
// `wanted`; returns how many it changed.
int FlipBytes(const std::string& root, const std::function<bool(const fs::path&)>& wanted) {
  int flipped = 0;
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file() || e.file_size() == 0 || !wanted(e.path())) continue;
    std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
    const auto at = static_cast<std::streamoff>(e.file_size() / 2);
    char c = 0;
    f.seekg(at);
    f.get(c);
    f.seekp(at);
    f.put(static_cast<char>(c ^ 0x5a));
    flipped += f.good() ? 1 : 0;
  }
  return flipped;
}

// A cached dataset whose executor dies between two jobs: the lost partitions are
// recomputed from their lineage (the shuffle files outlive the executor), the others
// read from the surviving executor's cache; the output is the fault-free one.
TEST_CASE("fault: an executor lost with cached partitions leaves the output byte-identical",
          "[fault][cache]") {
  CheckFaultBetweenJobs("cached", [](MiniCluster& cluster) {
    std::vector<pid_t> executors = cluster.ExecutorPids();
    REQUIRE(executors.size() == 2);
    REQUIRE(kill(executors.front(), SIGKILL) == 0);
  });
}

// Map outputs reused by a second job, corrupted on disk in between: the checksums catch
// it, the reads fail as fetch failures, the map stage runs again.
TEST_CASE("fault: bytes flipped in shuffle files are caught and the map outputs recomputed",
          "[fault][corruption]") {
  const std::string err = CheckFaultBetweenJobs("reuse", [](MiniCluster& cluster) {
    CHECK(FlipBytes(cluster.temp_dir(), [](const fs::path& p) {
            return p.filename().string().starts_with("shuffle_0_") && p.extension() == ".data";
          }) == 16);
  });
  CHECK(err.find("fetch failure for shuffle 0") != std::string::npos);
}

// Cached partitions on disk, corrupted in between: each bad block is treated as lost
// and recomputed from its lineage.
TEST_CASE("fault: bytes flipped in cached disk blocks are caught and the partitions recomputed",
          "[fault][corruption]") {
  CheckFaultBetweenJobs("disk", [](MiniCluster& cluster) {
    CHECK(FlipBytes(cluster.temp_dir(), [](const fs::path& p) {
            return p.parent_path().filename().string().starts_with("blocks-");
          }) == 4);
  });
}

// slow_app on a 2-worker cluster with kiln.network.timeout=TIMEOUT (heartbeats every
// 200 ms); one executor is SIGSTOPped once the first map outputs exist and SIGCONTed
// after `resume_when` holds. The output must be the fault-free one, and the cluster idle.
// Returns the driver's stderr.
std::string RunWithStoppedExecutor(const std::string& timeout,
                                   const std::function<bool(const std::string& err)>& resume_when) {
  TempDir dir("kiln-fault-");
  CommandResult reference = Submit("local[2]", {}, AppPath("slow_app"), {dir.Sub("reference")});
  INFO(reference.ToString());
  REQUIRE(reference.exit_code == 0);

  MiniCluster cluster;
  REQUIRE_OK(cluster.Start());
  BackgroundSubmit submit(cluster.master_url(), dir, {dir.Sub("out")},
                          {"KILN_CONF_kiln_network_timeout=" + timeout,
                           "KILN_CONF_kiln_executor_heartbeatInterval=200ms"});
  REQUIRE(WaitFor([&] { return MapOutputsUnder(cluster.temp_dir()) > 0; }, seconds(30)));
  std::vector<pid_t> executors = cluster.ExecutorPids();
  REQUIRE_FALSE(executors.empty());
  REQUIRE(kill(executors.front(), SIGSTOP) == 0);
  const bool resume = WaitFor(
      [&] { return resume_when(ReadFile(dir.Sub("submit.err")).value_or("")); }, seconds(30));
  kill(executors.front(), SIGCONT);
  REQUIRE(resume);

  return ExpectSameOutput(submit, dir, cluster);
}

TEST_CASE(
    "fault: an executor stopped past kiln.network.timeout is declared lost and its work "
    "redone and it is refused once resumed",
    "[fault][liveness]") {
  const std::string err = RunWithStoppedExecutor("2s", [](const std::string& err) {
    return err.find("declared lost: no message from it for 2 s (kiln.network.timeout)") !=
           std::string::npos;
  });
  INFO(err);
  CHECK(err.find("declared lost") != std::string::npos);
}

TEST_CASE("fault: an executor stopped for less than kiln.network.timeout is not declared lost",
          "[fault][liveness]") {
  const auto stopped = std::chrono::steady_clock::now();
  const std::string err = RunWithStoppedExecutor("20s", [&](const std::string&) {
    // The fault's duration, not a wait for a condition: 3 s stopped.
    return std::chrono::steady_clock::now() - stopped > seconds(3);
  });
  INFO(err);
  CHECK(err.find("declared lost") == std::string::npos);
  CHECK(err.find(" lost (") == std::string::npos);
}

// The executors that hold a file under `dir` open (the tasks writing there).
std::vector<pid_t> ExecutorsWriting(const MiniCluster& cluster, const std::string& dir) {
  std::vector<pid_t> writing;
  for (pid_t pid : cluster.ExecutorPids()) {
    std::error_code ec;
    for (const fs::directory_entry& fd :
         fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
      if (fs::read_symlink(fd.path(), ec).string().starts_with(dir)) {
        writing.push_back(pid);
        break;
      }
    }
  }
  return writing;
}

// An output task's attempt stopped past the timeout and resumed while its partition's
// second attempt runs: the driver commits exactly one attempt per partition, never the
// declared-lost one, and nothing of it is left. slow_app stall-pid tags each line with
// the writer's process id, so the test can tell whose file became the part.
TEST_CASE(
    "fault: an executor stopped past kiln.network.timeout while it writes output never "
    "commits its attempt",
    "[fault][commit]") {
  TempDir dir("kiln-fault-");
  WriteTestFile(dir.Sub("reference.go"), "");
  CommandResult reference =
      Submit("local[2]", {}, AppPath("slow_app"), {dir.Sub("reference"), "stall-pid"});
  INFO(reference.ToString());
  REQUIRE(reference.exit_code == 0);

  MiniCluster cluster;
  REQUIRE_OK(cluster.Start());
  BackgroundSubmit submit(
      cluster.master_url(), dir, {dir.Sub("out"), "stall-pid"},
      {"KILN_CONF_kiln_network_timeout=2s", "KILN_CONF_kiln_executor_heartbeatInterval=200ms"});
  std::vector<pid_t> writing;
  REQUIRE(WaitFor([&] { return !(writing = ExecutorsWriting(cluster, dir.Sub("out/"))).empty(); },
                  seconds(30)));
  const pid_t zombie = writing.front();
  REQUIRE(kill(zombie, SIGSTOP) == 0);
  const bool lost = WaitFor(
      [&] {
        return ReadFile(dir.Sub("submit.err")).value_or("").find("declared lost") !=
               std::string::npos;
      },
      seconds(30));
  // Resumed as its partitions' second attempts are let through: both may finish.
  kill(zombie, SIGCONT);
  REQUIRE(lost);
  WriteTestFile(dir.Sub("out.go"), "");
  const std::optional<ExitInfo>& exit = submit.Wait();
  REQUIRE(exit.has_value());
  INFO("kiln-submit stderr: " << ReadFile(dir.Sub("submit.err")).value_or(""));
  CHECK(exit->code() == 0);
  REQUIRE_OK(CheckClusterIdle(cluster));  // the zombie has exited too

  // Four parts and _SUCCESS, nothing else; each part wholly one attempt's, none the
  // zombie's; the lines (without their tag) those of the fault-free run.
  CHECK(ListDir(dir.Sub("out")) == std::vector<std::string>{"_SUCCESS", "part-00000", "part-00001",
                                                            "part-00002", "part-00003"});
  auto untagged = [](const std::string& text, std::set<std::string>* writers) {
    std::string lines;
    for (const std::string& line : SplitLines(text)) {
      const size_t tab = line.rfind('\t');
      writers->insert(line.substr(tab + 1));
      lines += line.substr(0, tab) + "\n";
    }
    return lines;
  };
  std::string out;
  for (const std::string& part : PartFiles(dir.Sub("out"))) {
    std::set<std::string> writers;
    out += untagged(ReadTestFile(dir.Sub("out/" + part)), &writers);
    CHECK(writers.size() == 1);
    CHECK_FALSE(writers.contains(std::to_string(zombie)));
  }
  std::set<std::string> reference_writers;
  CHECK(out == untagged(ReadParts(dir.Sub("reference")), &reference_writers));
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

TEST_CASE(
    "fault: a driver killed with SIGKILL ends its application at once without relaunches "
    "and its executors and work dirs go",
    "[fault][interrupt]") {
  MiniClusterOptions options;
  options.master_conf = {"kiln.app.timeout=10m"};  // only the executors' word can end it
  MiniCluster cluster(options);
  REQUIRE_OK(cluster.Start());
  TempDir dir("kiln-fault-");
  std::string app;
  {
    BackgroundSubmit submit(cluster.master_url(), dir, {dir.Sub("out"), "stall"});
    REQUIRE(WaitFor(
        [&] {
          app = AppIdFromStderr(ReadFile(dir.Sub("submit.err")).value_or(""));
          return !app.empty() && RegisteredExecutors(cluster, app) == 2 &&
                 PathExists(dir.Sub("out/_temporary"));
        },
        seconds(30)));
    REQUIRE(kill(submit.pid(), SIGKILL) == 0);
    REQUIRE(submit.Wait().has_value());
  }
  const auto killed = std::chrono::steady_clock::now();
  Json entry = WaitForCompletedApp(cluster, app, seconds(20));
  INFO("/json: " << cluster.MasterState().dump());
  REQUIRE(entry.is_object());
  CHECK(entry.value("state", "") == "FAILED");
  CHECK(std::chrono::steady_clock::now() - killed < seconds(10));
  REQUIRE_OK(CheckClusterIdle(cluster));
  // Its two executors, and no more: none was relaunched towards a dead driver.
  const std::string master_log = ReadFile(cluster.master_log()).value_or("");
  INFO(master_log);
  size_t launches = 0;
  for (size_t at = 0;
       (at = master_log.find("launching executor app=" + app, at)) != std::string::npos; ++at) {
    ++launches;
  }
  CHECK(launches == 2);
  CHECK(master_log.find("its driver is gone") != std::string::npos);
  // The workers keep the failed application's executor logs, and nothing else.
  std::string executor_stderr;
  CHECK_OK(CheckOnlyLogsLeft(cluster, app, &executor_stderr));
  CHECK(executor_stderr.find("lost its driver") != std::string::npos);
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
    // Its scratch dir exists and is locked (it is made at the first action, after the
    // output dir).
    REQUIRE(WaitFor(
        [&] {
          const std::vector<std::string> dirs = ListDir(tmp);
          return dirs.size() == 1 && PathExists(tmp + "/" + dirs[0] + "/.owner");
        },
        seconds(30)));
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
