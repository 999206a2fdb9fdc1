// kiln-submit's bad input, an unreachable master, a missing input path and an existing
// output dir: each fails with a message naming what is wrong, fast, and leaves nothing
// behind.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "common/strings.h"
#include "common/wait.h"
#include "tests/jobs/job_util.h"
#include "tests/kiln_catch.h"
#include "tests/support/mini_cluster.h"
#include "tests/support/test_util.h"

namespace kiln::test::jobs {
namespace {

using Clock = std::chrono::steady_clock;

struct BadInput {
  std::string master;              // "" = the listening port nobody serves
  std::vector<std::string> flags;  // between --master and the application
  std::string app;                 // "" = build/bin/wordcount
  std::vector<std::string> named;  // what the one line must name
};

TEST_CASE("jobs: kiln-submit refuses bad input with one line before connecting", "[jobs][submit]") {
  TempDir dir("kiln-submit-");
  WriteTestFile(dir.Sub("in.txt"), "a b c\n");
  const std::string missing_app = dir.Sub("no-such-app");
  const std::vector<BadInput> cases = {
      {"", {"--executor-memory", "1x"}, "", {"--executor-memory", "1x"}},
      {"", {"--executor-memory", "0"}, "", {"--executor-memory", "'0'"}},
      {"", {"--executor-memory", "-1g"}, "", {"--executor-memory", "-1g"}},
      {"", {"--executor-memory", "449m"}, "", {"--executor-memory", "449m", "450m"}},
      {"", {"--driver-memory", "256m"}, "", {"--driver-memory", "256m", "450m"}},
      {"", {"--conf", "kiln.executor.memory=300m"}, "", {"kiln.executor.memory", "450m"}},
      {"", {"--executor-cores", "0"}, "", {"--executor-cores", "'0'"}},
      {"", {"--executor-cores", "abc"}, "", {"--executor-cores", "abc"}},
      {"", {"--total-executor-cores", "0"}, "", {"--total-executor-cores", "'0'"}},
      {"foo://x", {}, "", {"--master", "foo://x"}},
      {"kiln://host", {}, "", {"--master", "kiln://host", "port"}},
      {"host:7077", {}, "", {"--master", "host:7077", "kiln://"}},
      {"", {}, missing_app, {missing_app}},
      {"", {"--bogus"}, "", {"--bogus"}},
      {"", {"--conf", "kiln.executor.memory=12q"}, "", {"kiln.executor.memory", "12q"}},
      {"", {"--conf", "nokey"}, "", {"nokey"}},
      {"", {"--conf", "kiln.driver.port=70000"}, "", {"kiln.driver.port", "0 to 65535"}},
      {"",
       {"--conf", "kiln.default.parallelism=4294967298"},
       "",
       {"kiln.default.parallelism", "0 to 2147483647"}},
      {"", {"--conf", "kiln.task.maxFailures=0"}, "", {"kiln.task.maxFailures", "1 to"}},
      {"",
       {"--conf", "kiln.io.compression.codec=snappy"},
       "",
       {"kiln.io.compression.codec", "lz4, zstd or none"}},
  };
  for (const BadInput& c : cases) {
    UnusedPort server(/*listen=*/true);
    const std::string out = dir.Sub("out");
    std::vector<std::string> argv{BinPath("kiln-submit"), "--master",
                                  c.master.empty() ? server.url() : c.master};
    argv.insert(argv.end(), c.flags.begin(), c.flags.end());
    argv.insert(argv.end(), {c.app.empty() ? BinPath("wordcount") : c.app, dir.Sub("in.txt"), out});
    auto start = Clock::now();
    CommandResult r = RunCommand(argv, seconds(10));
    const int64_t ms = ElapsedMs(start);
    INFO(Join(argv, " ") << " (" << ms << " ms): " << r.ToString());
    CHECK_FALSE(r.timed_out);
    CHECK(r.exit_code != 0);
    CHECK(ms < 5000);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);  // exactly one line...
    CHECK((!r.err.empty() && r.err.back() == '\n'));
    for (const std::string& name : c.named) {  // ...naming the culprit
      INFO("the message should name " << name);
      CHECK(r.err.find(name) != std::string::npos);
    }
    CHECK(r.out.empty());
    CHECK_FALSE(server.Connected());
    CHECK_FALSE(PathExists(out));
  }
}

TEST_CASE("jobs: an unreachable master fails within the connect timeout and is named",
          "[jobs][submit]") {
  TempDir dir("kiln-submit-");
  WriteTestFile(dir.Sub("in.txt"), "a b c\n");
  UnusedPort nobody;  // connecting is refused
  auto start = Clock::now();
  CommandResult r = Submit(nobody.url(), {"--conf", "kiln.master.connectTimeout=1s"},
                           BinPath("wordcount"), {dir.Sub("in.txt"), dir.Sub("out")}, seconds(15));
  INFO("(" << ElapsedMs(start) << " ms): " << r.ToString());
  CHECK_FALSE(r.timed_out);
  CHECK(r.exit_code != 0);
  CHECK(r.err.find(nobody.url()) != std::string::npos);
  CHECK_FALSE(PathExists(dir.Sub("out")));
}

// wordcount /no/such/path OUT: fails on the driver, naming the path, before any task.
CommandResult CheckMissingInput(const std::string& master) {
  TempDir dir("kiln-submit-");
  const std::string missing = dir.Sub("no/such/path");
  const std::string out = dir.Sub("out");
  auto start = Clock::now();
  CommandResult r = Submit(master, {}, BinPath("wordcount"), {missing, out});
  INFO("(" << ElapsedMs(start) << " ms): " << r.ToString());
  CHECK_FALSE(r.timed_out);
  CHECK(r.exit_code != 0);
  CHECK(r.err.find(missing) != std::string::npos);
  CHECK_FALSE(PathExists(out));
  return r;
}

TEST_CASE(
    "jobs: a missing input path fails on the driver on the cluster, before the application "
    "registers",
    "[jobs][submit]") {
  MiniCluster cluster;
  REQUIRE_OK(cluster.Start());
  CommandResult r = CheckMissingInput(cluster.master_url());
  INFO(r.ToString());
  // Registration waits for the first action: the cluster never heard of this program.
  CHECK(AppIdFromStderr(r.err).empty());
  CHECK_OK(CheckNoApplications(cluster));
  REQUIRE_OK(CheckClusterIdle(cluster));
}

TEST_CASE("jobs: a setting kiln-submit does not read is a warning naming who reads it",
          "[jobs][submit]") {
  TempDir dir("kiln-submit-");
  WriteTestFile(dir.Sub("in.txt"), "a b a\n");
  CommandResult r = Submit("local[2]", {"--conf", "kiln.deploy.spreadOut=false"},
                           BinPath("wordcount"), {dir.Sub("in.txt"), dir.Sub("out")});
  INFO(r.ToString());
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("kiln-submit: warning: setting kiln.deploy.spreadOut is read by "
                   "kiln-master only: ignored by kiln-submit and the driver\n") !=
        std::string::npos);
  CHECK(r.out.find("a\t2") != std::string::npos);  // the top words it prints
}

TEST_CASE("jobs: the examples check their arguments before anything else", "[jobs][submit]") {
  // A bad setting in the environment would stop the Context: the usage comes first.
  for (const char* example : {"wordcount", "city_report"}) {
    CommandResult r = RunCommand({BinPath(example), "onlyone"}, seconds(10),
                                 {"KILN_CONF_kiln_task_maxFailures=0"});
    INFO(r.ToString());
    CHECK(r.exit_code == 2);
    CHECK(r.err == StrCat("usage: ", example,
                          example == std::string("wordcount") ? " INPUT OUTPUT\n"
                                                              : " USERS_CSV ORDERS_CSV OUTPUT\n"));
  }
}

TEST_CASE("jobs: a missing input path fails on the driver in local[2]", "[jobs][submit]") {
  CheckMissingInput("local[2]");
}

// wordcount IN OUT with OUT existing: refused before any task, OUT untouched.
void CheckExistingOutput(const std::string& master) {
  TempDir dir("kiln-submit-");
  WriteTestFile(dir.Sub("in.txt"), "a b c\nb c\n");
  const std::string out = dir.Sub("out");
  REQUIRE(std::filesystem::create_directory(out));
  WriteTestFile(out + "/precious.txt", "do not touch\n");
  auto start = Clock::now();
  CommandResult r = Submit(master, {}, BinPath("wordcount"), {dir.Sub("in.txt"), out});
  INFO("(" << ElapsedMs(start) << " ms): " << r.ToString());
  CHECK_FALSE(r.timed_out);
  CHECK(r.exit_code != 0);
  CHECK(r.err.find(out) != std::string::npos);
  CHECK(ListDir(out) == std::vector<std::string>{"precious.txt"});
  CHECK(ReadTestFile(out + "/precious.txt") == "do not touch\n");
  CHECK(r.out.empty());  // the top 10 (the second job) never ran
}

TEST_CASE("jobs: an existing output dir is refused on the cluster", "[jobs][submit]") {
  MiniCluster cluster;
  REQUIRE_OK(cluster.Start());
  CheckExistingOutput(cluster.master_url());
  REQUIRE_OK(CheckClusterIdle(cluster));
}

TEST_CASE("jobs: executors larger than any worker are refused at once, naming both sizes",
          "[jobs][submit]") {
  MiniCluster cluster;  // workers of 2 cores and 2g
  REQUIRE_OK(cluster.Start());
  TempDir dir("kiln-too-big-");
  WriteTestFile(dir.Sub("in.txt"), "a b\n");
  CommandResult r = Submit(cluster.master_url(), {"--executor-memory", "3g"}, BinPath("wordcount"),
                           {dir.Sub("in.txt"), dir.Sub("out")});
  INFO(r.ToString());
  CHECK(r.exit_code != 0);
  CHECK_THAT(DriverMessage(r.err), Catch::Contains("refused this application") &&
                                       Catch::Contains("3.0 GiB asked (kiln.executor.memory)") &&
                                       Catch::Contains("any worker offers is 2.0 GiB"));
  CHECK_OK(CheckNoApplications(cluster));
  REQUIRE_OK(CheckClusterIdle(cluster));
}

TEST_CASE("jobs: an existing output dir is refused in local[2]", "[jobs][submit]") {
  CheckExistingOutput("local[2]");
}

}  // namespace
}  // namespace kiln::test::jobs
