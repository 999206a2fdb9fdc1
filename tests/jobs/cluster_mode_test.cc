// Cluster deploy mode: kiln-submit --deploy-mode cluster uploads the application to the
// master, a worker runs the driver in <work-dir>/<driver-id>/, and kiln-submit prints the
// driver id and returns; --status follows the driver through SUBMITTED, RUNNING and
// FINISHED, --kill stops it for good, and --supervise relaunches a driver that dies.
// The master's own driver rules are unit-tested in tests/master/drivers_test.cc.

#include <dirent.h>
#include <signal.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/files.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/strings.h"
#include "common/wait.h"
#include "tests/jobs/job_util.h"
#include "tests/kiln_catch.h"
#include "tests/support/mini_cluster.h"
#include "tests/support/test_util.h"

namespace kiln::test::jobs {
namespace {

// kiln-submit --master URL ARGS... (no application).
CommandResult SubmitTool(const MiniCluster& cluster, std::vector<std::string> args) {
  std::vector<std::string> argv{BinPath("kiln-submit"), "--master", cluster.master_url()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, seconds(30));
}

// Submits in cluster mode; returns the driver id it printed on stdout ("" on failure).
std::string SubmitDriver(const MiniCluster& cluster, const std::vector<std::string>& flags,
                         const std::string& app, const std::vector<std::string>& app_args) {
  std::vector<std::string> all = {"--deploy-mode", "cluster"};
  all.insert(all.end(), flags.begin(), flags.end());
  CommandResult r = Submit(cluster.master_url(), all, app, app_args, seconds(30));
  INFO(r.ToString());
  CHECK(r.exit_code == 0);
  std::vector<std::string> lines = SplitLines(r.out);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].starts_with("driver-"));
  CHECK_THAT(r.err, Catch::Contains("--status " + lines[0]));
  return lines[0];
}

// The state `kiln-submit --status` prints first ("driver-... RUNNING"); the whole
// output goes to *out when given.
std::string StatusOf(const MiniCluster& cluster, const std::string& id,
                     std::string* out = nullptr) {
  CommandResult r = SubmitTool(cluster, {"--status", id});
  if (out != nullptr) *out = r.out;
  if (r.exit_code != 0) return "(exit " + std::to_string(r.exit_code) + ": " + r.err + ")";
  std::vector<std::string> lines = SplitLines(r.out);
  if (lines.empty() || !lines[0].starts_with(id + " ")) return "(unexpected: " + r.out + ")";
  return lines[0].substr(id.size() + 1);
}

// Waits until the driver is in `state`; fails with the last --status output otherwise.
void ExpectState(const MiniCluster& cluster, const std::string& id, const std::string& state,
                 milliseconds timeout = seconds(60)) {
  std::string last, out;
  WaitFor([&] { return (last = StatusOf(cluster, id, &out)) == state; }, timeout);
  INFO("kiln-submit --status " << id << ":\n" << out << "\nmaster log:\n" << cluster.master_log());
  REQUIRE(last == state);
}

// A line "  key: value" of --status output, or "".
std::string StatusField(const std::string& out, const std::string& key) {
  for (const std::string& line : SplitLines(out)) {
    const std::string prefix = "  " + key + ":";
    if (!line.starts_with(prefix)) continue;
    size_t start = line.find_first_not_of(' ', prefix.size());
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "";
}

// Processes of `cluster` whose environment holds KILN_DRIVER_ID=<id>: the driver's. (Its
// working directory tells it from a driver of the same id in another test's cluster: ids
// are unique per master only.)
std::vector<pid_t> DriverPids(const MiniCluster& cluster, const std::string& id) {
  std::vector<pid_t> pids;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return pids;
  const std::string wanted = "KILN_DRIVER_ID=" + id;
  while (dirent* e = readdir(proc)) {
    const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    std::error_code ec;
    const std::string cwd =
        std::filesystem::read_symlink(StrCat("/proc/", pid, "/cwd"), ec).string();
    if (ec || !cwd.starts_with(cluster.temp_dir() + "/")) continue;
    absl::StatusOr<std::string> env = ReadFile(StrCat("/proc/", pid, "/environ"));
    if (!env.ok()) continue;
    size_t at = 0;
    while (at < env->size()) {
      size_t end = env->find('\0', at);
      if (end == std::string::npos) end = env->size();
      if (env->compare(at, end - at, wanted) == 0) pids.push_back(pid);
      at = end + 1;
    }
  }
  closedir(proc);
  return pids;
}

// The worker work dir holding <driver-id>/, or "".
std::string DriverDir(const MiniCluster& cluster, const std::string& id) {
  for (const std::string& dir : cluster.worker_work_dirs()) {
    if (PathExists(dir + "/" + id)) return dir + "/" + id;
  }
  return "";
}

TEST_CASE("cluster mode: word count runs its driver on a worker", "[jobs][cluster-mode]") {
  MiniCluster cluster;
  REQUIRE_OK(cluster.Start());
  TempDir dir;
  const std::string text = GenerateText(17, 3000);
  WriteTestFile(dir.Sub("in.txt"), text);
  const auto start = std::chrono::steady_clock::now();
  const std::string id =
      SubmitDriver(cluster, {}, BinPath("wordcount"), {dir.Sub("in.txt"), dir.Sub("out")});
  ExpectState(cluster, id, "FINISHED");
  INFO("took " << ElapsedMs(start) << " ms");
  WordCounts counts;
  CountWords(text, &counts);
  CHECK(SortedLines(ReadParts(dir.Sub("out"))) == WordCountLines(counts));

  // Its output and logs are in <work-dir>/<driver-id>/ on the worker that ran it.
  std::string out;
  StatusOf(cluster, id, &out);
  const std::string driver_dir = DriverDir(cluster, id);
  REQUIRE_FALSE(driver_dir.empty());
  CHECK(ReadTestFile(driver_dir + "/stdout") == TopTen(counts));
  // The worker that ran it serves its logs, and its page links to them.
  for (int i = 0; i < cluster.num_workers(); ++i) {
    if (!driver_dir.starts_with(cluster.worker_work_dir(i) + "/")) continue;
    absl::StatusOr<std::string> log =
        HttpGet("127.0.0.1", cluster.worker_ui_port(i), "/logs/" + id + "/stdout");
    REQUIRE_OK(log.status());
    CHECK(*log == TopTen(counts));
    absl::StatusOr<std::string> page = HttpGet("127.0.0.1", cluster.worker_ui_port(i), "/");
    REQUIRE_OK(page.status());
    CHECK_THAT(*page, Catch::Contains("href=\"/logs/" + id + "/stderr\""));
  }
  const std::string app_id = StatusField(out, "application");
  CHECK(app_id.starts_with("app-"));
  CHECK_THAT(ReadTestFile(driver_dir + "/stderr"), Catch::Contains(app_id));
  CHECK_THAT(StatusField(out, "worker"), Catch::Contains("127.0.0.1:"));

  // The master lists it, with the application it ran.
  Json state = cluster.MasterState();
  REQUIRE(state["completeddrivers"].size() == 1);
  CHECK(state["completeddrivers"][0]["id"] == id);
  CHECK(state["completeddrivers"][0]["state"] == "FINISHED");
  CHECK(state["completeddrivers"][0]["appid"] == app_id);
  CHECK_FALSE(FindApp(state, "completedapps", app_id).is_null());
  REQUIRE_OK(CheckClusterIdle(cluster));
}

TEST_CASE("cluster mode: --status follows a driver through SUBMITTED, RUNNING and FINISHED",
          "[jobs][cluster-mode]") {
  MiniCluster cluster;
  REQUIRE_OK(cluster.Start());
  TempDir dir;
  // The first driver takes a whole worker (2 cores) and its executors the other, and it
  // stalls: the second, which also wants 2 cores, has nowhere to go.
  const std::string first =
      SubmitDriver(cluster, {"--driver-cores", "2", "--driver-memory", "512m"}, AppPath("slow_app"),
                   {dir.Sub("first"), "stall"});
  ExpectState(cluster, first, "RUNNING");
  std::string out;
  WaitFor(
      [&] {
        StatusOf(cluster, first, &out);
        return !StatusField(out, "application").empty();
      },
      seconds(30));
  CHECK(StatusField(out, "application").starts_with("app-"));
  const std::string second =
      SubmitDriver(cluster, {"--driver-cores", "2", "--driver-memory", "512m"}, AppPath("slow_app"),
                   {dir.Sub("second")});
  CHECK(StatusOf(cluster, second) == "SUBMITTED");
  Json waiting = cluster.MasterState()["activedrivers"];
  REQUIRE(waiting.size() == 2);
  CHECK(waiting[1]["state"] == "SUBMITTED");

  WriteTestFile(dir.Sub("first.go"), "");
  ExpectState(cluster, first, "FINISHED");
  ExpectState(cluster, second, "FINISHED");
  CHECK(SortedLines(ReadParts(dir.Sub("first"))) == SortedLines(SlowAppReference()));
  CHECK(ReadParts(dir.Sub("second")) == SlowAppReference());
  REQUIRE_OK(CheckClusterIdle(cluster));
}

TEST_CASE("cluster mode: --kill stops a running driver for good", "[jobs][cluster-mode]") {
  MiniCluster cluster;
  REQUIRE_OK(cluster.Start());
  TempDir dir;
  const std::string id =
      SubmitDriver(cluster, {"--supervise"}, AppPath("slow_app"), {dir.Sub("out"), "stall"});
  ExpectState(cluster, id, "RUNNING");
  WaitFor([&] { return !DriverPids(cluster, id).empty(); }, seconds(30));
  REQUIRE_FALSE(DriverPids(cluster, id).empty());

  CommandResult kill = SubmitTool(cluster, {"--kill", id});
  INFO(kill.ToString());
  CHECK(kill.exit_code == 0);
  CHECK(kill.out == id + " KILLED\n");
  CHECK(StatusOf(cluster, id) == "KILLED");
  // Its process goes, and, although supervised, it does not come back.
  CHECK(WaitFor([&] { return DriverPids(cluster, id).empty(); }, seconds(30)));
  REQUIRE_OK(CheckClusterIdle(cluster));
  CHECK(StatusOf(cluster, id) == "KILLED");

  CommandResult again = SubmitTool(cluster, {"--kill", id});
  CHECK(again.exit_code == 1);
  CHECK_THAT(again.err, Catch::Contains("had already ended KILLED"));
  CommandResult unknown = SubmitTool(cluster, {"--status", "driver-20200101000000-0042"});
  CHECK(unknown.exit_code == 1);
  CHECK_THAT(unknown.err, Catch::Contains("no driver driver-20200101000000-0042"));
}

TEST_CASE("cluster mode: a supervised driver killed with SIGKILL is relaunched and finishes",
          "[jobs][cluster-mode]") {
  MiniCluster cluster;
  REQUIRE_OK(cluster.Start());
  TempDir dir;
  const std::string id =
      SubmitDriver(cluster, {"--supervise"}, AppPath("slow_app"), {dir.Sub("out"), "stall"});
  ExpectState(cluster, id, "RUNNING");
  std::vector<pid_t> pids;
  WaitFor([&] { return !(pids = DriverPids(cluster, id)).empty(); }, seconds(30));
  REQUIRE(pids.size() == 1);
  // Mid-job: its output is begun, not committed.
  WaitFor([&] { return PathExists(dir.Sub("out/_temporary")); }, seconds(30));
  REQUIRE(kill(pids[0], SIGKILL) == 0);

  std::string out;
  WaitFor(
      [&] {
        return StatusOf(cluster, id, &out) == "RUNNING" && StatusField(out, "relaunches") == "1";
      },
      seconds(60));
  INFO(out);
  REQUIRE(StatusField(out, "relaunches") == "1");
  CHECK_THAT(StatusField(out, "message"), Catch::Contains("signal 9"));
  WriteTestFile(dir.Sub("out.go"), "");
  ExpectState(cluster, id, "FINISHED");
  CHECK(SortedLines(ReadParts(dir.Sub("out"))) == SortedLines(SlowAppReference()));
  // The first run's logs are kept beside the second's.
  const std::string driver_dir = DriverDir(cluster, id);
  CHECK(PathExists(driver_dir + "/stderr.0"));
  CHECK(PathExists(driver_dir + "/stderr"));
  REQUIRE_OK(CheckClusterIdle(cluster));
}

TEST_CASE("cluster mode: a supervised driver whose worker is killed starts on another worker",
          "[jobs][cluster-mode]") {
  MiniCluster cluster({.master_conf = {"kiln.worker.timeout=2s"},
                       .worker_conf = {"kiln.worker.heartbeatInterval=200ms"}});
  REQUIRE_OK(cluster.Start());
  TempDir dir;
  const std::string id =
      SubmitDriver(cluster, {"--supervise"}, AppPath("slow_app"), {dir.Sub("out"), "stall"});
  ExpectState(cluster, id, "RUNNING");
  std::string out;
  StatusOf(cluster, id, &out);
  int victim = -1;
  for (int i = 0; i < cluster.num_workers(); ++i) {
    if (StatusField(out, "worker").find(StrCat(":", cluster.worker_port(i), ")")) !=
        std::string::npos) {
      victim = i;
    }
  }
  INFO(out);
  REQUIRE(victim >= 0);
  WaitFor([&] { return PathExists(dir.Sub("out/_temporary")); }, seconds(30));
  cluster.KillWorker(victim);  // the driver dies with it
  WaitFor([&] { return DriverPids(cluster, id).empty(); }, seconds(30));
  CHECK(DriverPids(cluster, id).empty());

  WaitFor(
      [&] {
        return StatusOf(cluster, id, &out) == "RUNNING" && StatusField(out, "relaunches") == "1";
      },
      seconds(60));
  REQUIRE(StatusField(out, "relaunches") == "1");
  CHECK(StatusField(out, "worker").find(StrCat(":", cluster.worker_port(victim), ")")) ==
        std::string::npos);
  CHECK_THAT(StatusField(out, "message"), Catch::Contains("was lost"));
  WriteTestFile(dir.Sub("out.go"), "");
  ExpectState(cluster, id, "FINISHED");
  CHECK(SortedLines(ReadParts(dir.Sub("out"))) == SortedLines(SlowAppReference()));
}

}  // namespace
}  // namespace kiln::test::jobs
