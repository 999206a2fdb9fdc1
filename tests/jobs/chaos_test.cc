// Chaos: ten jobs (word count, and city_report's two shuffles and joins) run back to
// back on a 3-worker cluster while the test kills a random executor or a whole worker
// (daemon and executors, restarted a moment later) while it runs. Every job must end
// with the bytes of its fault-free run; afterwards every worker is ALIVE with all its
// cores and memory free, and no process or application directory is left behind.
//
// The faults are drawn from a seed (printed; KILN_CHAOS_SEED replays one) and bounded:
// at most kFaultsPerJob per job, one worker down at a time.

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/files.h"
#include "common/strings.h"
#include "common/subprocess.h"
#include "common/wait.h"
#include "tests/jobs/background_submit.h"
#include "tests/jobs/job_util.h"
#include "tests/kiln_catch.h"
#include "tests/support/mini_cluster.h"
#include "tests/support/processes.h"
#include "tests/support/test_util.h"

namespace kiln::test::jobs {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kJobs = 10;
constexpr int kFaultsPerJob = 2;
// Inputs large enough that each job runs a few seconds on the 3-worker cluster.
constexpr int kWordLines = 600'000;
constexpr int kUsers = 40'000;
constexpr int kOrders = 400'000;
const std::string kSplit = "1m";

struct Job {
  std::string program;
  std::vector<std::string> inputs;
  std::string reference;  // the fault-free output's bytes
};

// Processes other than the cluster's daemons whose command line names `dir`: what a
// killed worker or a lost driver could have left running.
std::vector<std::string> StrayProcesses(const MiniCluster& cluster, const std::string& dir) {
  std::vector<std::string> stray;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    if (pid == cluster.master_pid()) continue;
    bool daemon = false;
    for (int i = 0; i < cluster.num_workers(); ++i) daemon = daemon || pid == cluster.worker_pid(i);
    if (daemon) continue;
    const std::vector<std::string> args = ProcessArgs(pid);
    for (const std::string& arg : args) {
      if (arg.find(dir) == std::string::npos) continue;
      stray.push_back(StrCat(pid, ": ", Join(args, " ")));
      break;
    }
  }
  return stray;
}

// Map outputs the application has written on the workers.
int MapOutputs(const MiniCluster& cluster, const std::string& app) {
  int outputs = 0;
  for (const std::string& dir : cluster.worker_work_dirs())
    outputs += MapOutputsUnder(dir + "/" + app);
  return outputs;
}

uint64_t ChaosSeed() {
  const char* seed = std::getenv("KILN_CHAOS_SEED");
  if (seed != nullptr) return std::strtoull(seed, nullptr, 10);
  return static_cast<uint64_t>(Clock::now().time_since_epoch().count());
}

TEST_CASE(
    "fault: ten jobs under random executor and worker kills end byte-identical, with "
    "nothing left behind",
    "[fault][chaos]") {
  const uint64_t seed = ChaosSeed();
  std::fprintf(stderr, "chaos seed %llu (KILN_CHAOS_SEED replays it)\n",
               static_cast<unsigned long long>(seed));
  INFO("KILN_CHAOS_SEED=" << seed);
  Rng rng(seed);
  TempDir dir("kiln-chaos-");

  // Inputs and their fault-free outputs: word count's from local[2], city_report's
  // computed by the test.
  WriteTestFile(dir.Sub("words.txt"), GenerateText(/*seed=*/3, /*lines=*/kWordLines));
  CityData city = GenerateCityData(/*seed=*/5, /*users=*/kUsers, /*orders=*/kOrders);
  WriteTestFile(dir.Sub("users.csv"), city.users_csv);
  WriteTestFile(dir.Sub("orders.csv"), city.orders_csv);
  // The same splits and partition counts on the cluster as in the reference run.
  const std::vector<std::string> env = {"KILN_CONF_kiln_files_maxPartitionBytes=" + kSplit,
                                        "KILN_CONF_kiln_default_parallelism=6"};
  const std::vector<std::string> flags = {"--conf", "kiln.files.maxPartitionBytes=" + kSplit,
                                          "--conf", "kiln.default.parallelism=6"};
  CommandResult words = Submit("local[2]", flags, BinPath("wordcount"),
                               {dir.Sub("words.txt"), dir.Sub("words-reference")});
  INFO(words.ToString());
  REQUIRE(words.exit_code == 0);
  const std::vector<Job> kinds = {
      {BinPath("wordcount"), {dir.Sub("words.txt")}, ReadParts(dir.Sub("words-reference"))},
      {BinPath("city_report"), {dir.Sub("users.csv"), dir.Sub("orders.csv")}, city.expected}};

  MiniClusterOptions options;
  options.num_workers = 3;
  options.master_conf = {"kiln.worker.timeout=2s"};
  options.worker_conf = {"kiln.worker.heartbeatInterval=200ms"};
  MiniCluster cluster(options);
  REQUIRE_OK(cluster.Start());
  // The scaled profile: lost fetches retried after 200 ms, not 5 s.
  std::vector<std::string> cluster_env = env;
  cluster_env.push_back("KILN_CONF_kiln_shuffle_io_retryWait=200ms");

  int faults = 0;
  int down = -1;  // the worker killed and not restarted yet
  Clock::time_point restart_at;
  // Kills a random executor, or (when no worker is down, one time in three) a random
  // worker with its executors, restarted later. False when there was nothing to kill.
  auto fault = [&](int n) {
    const std::vector<pid_t> executors = cluster.ExecutorPids();
    if (down < 0 && rng.Below(3) == 0) {
      down = static_cast<int>(rng.Below(cluster.num_workers()));
      cluster.KillWorker(down);  // its executors die with it (PR_SET_PDEATHSIG)
      restart_at = Clock::now() + milliseconds(300 + rng.Below(900));
      std::fprintf(stderr, "chaos: job %d: worker %d killed\n", n, down);
    } else if (!executors.empty()) {
      const pid_t victim = executors[rng.Below(executors.size())];
      kill(victim, SIGKILL);
      std::fprintf(stderr, "chaos: job %d: executor pid %d killed\n", n, victim);
    } else {
      return false;
    }
    ++faults;
    return true;
  };
  for (int n = 0; n < kJobs; ++n) {
    const Job& job = kinds[n % kinds.size()];
    const std::string out = dir.Sub(StrCat("out-", n));
    std::vector<std::string> args = job.inputs;
    args.push_back(out);
    const std::string name = StrCat("job-", n);
    BackgroundSubmit submit(cluster.master_url(), dir, args, cluster_env, job.program, name);
    const auto started = Clock::now();
    // The jobs take a few hundred milliseconds, so the faults are timed by their
    // progress: each strikes once the application has written a random number of map
    // outputs (0: as soon as it has registered).
    std::vector<int> triggers;
    for (int f = 0; f < kFaultsPerJob; ++f) triggers.push_back(static_cast<int>(rng.Below(24)));
    std::sort(triggers.begin(), triggers.end());
    size_t next = 0;
    int job_faults = 0;
    std::string app;
    std::optional<ExitInfo> exit;
    const auto deadline = started + seconds(120);
    while (Clock::now() < deadline) {
      if (WaitFor([&] { return (exit = TryWait(submit.pid())).has_value(); }, milliseconds(2))) {
        break;
      }
      if (down >= 0 && Clock::now() >= restart_at) {
        REQUIRE_OK(cluster.RestartWorker(down));
        std::fprintf(stderr, "chaos: job %d: worker %d restarted\n", n, down);
        down = -1;
      }
      if (app.empty()) app = AppIdFromStderr(ReadFile(dir.Sub(name + ".err")).value_or(""));
      if (next == triggers.size() || app.empty()) continue;
      if (MapOutputs(cluster, app) < triggers[next]) continue;
      ++next;
      job_faults += fault(n) ? 1 : 0;
    }
    std::fprintf(stderr, "chaos: job %d ended after %lld ms\n", n,
                 static_cast<long long>(ElapsedMs(started)));
    const std::string err = ReadFile(dir.Sub(name + ".err")).value_or("");
    INFO("job " << n << " (" << job.program << ", " << job_faults << " faults) stderr: " << err);
    REQUIRE(exit.has_value());
    CHECK(exit->code() == 0);
    CHECK(ReadParts(out) == job.reference);
    CHECK(PathExists(out + "/_SUCCESS"));
  }
  if (down >= 0) REQUIRE_OK(cluster.RestartWorker(down));
  std::fprintf(stderr, "chaos: %d faults over %d jobs\n", faults, kJobs);
  CHECK(faults >= kJobs);  // the faults did happen

  // Every worker ALIVE with every core and MiB free, no executor, no stray process, and
  // no application directory on any worker. (A restarted worker has new ports here, so
  // the master drops its old entry after kiln.worker.timeout, not at once.)
  REQUIRE_OK(CheckClusterIdle(cluster));
  Json state;
  auto alive = [&] {
    state = cluster.MasterState();
    int n = 0;
    for (const Json& w : state["workers"]) n += w.value("state", "") == "ALIVE" ? 1 : 0;
    return n;
  };
  CHECK(WaitFor([&] { return alive() == cluster.num_workers(); }, seconds(10)));
  INFO("/json: " << state.dump());
  CHECK(state.value("coresused", -1) == 0);
  CHECK(state.value("cores", 0) == cluster.num_workers() * options.cores_per_worker);
  CHECK(StrayProcesses(cluster, cluster.temp_dir()).empty());
  for (int i = 0; i < cluster.num_workers(); ++i) {
    const bool clean = WaitFor(
        [&] {
          for (const std::string& entry : ListDir(cluster.worker_work_dir(i))) {
            if (entry.starts_with("app-")) return false;
          }
          return true;
        },
        seconds(10));
    INFO("worker " << i << " work dir: " << Join(ListDir(cluster.worker_work_dir(i)), " "));
    CHECK(clean);
  }
}

}  // namespace
}  // namespace kiln::test::jobs
