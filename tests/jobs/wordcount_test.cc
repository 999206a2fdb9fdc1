// wordcount end to end: kiln-submit runs build/bin/wordcount on a 2-worker mini
// cluster and in local[2]; its output must equal counts computed here, exactly.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "common/files.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/strings.h"
#include "common/wait.h"
#include "nlohmann/json.hpp"
#include "tests/jobs/job_util.h"
#include "tests/kiln_catch.h"
#include "tests/support/mini_cluster.h"
#include "tests/support/test_util.h"

namespace kiln::test::jobs {
namespace {

// Runs wordcount INPUT OUT on `master` and checks the exit code, the output dir (every
// "word\tcount" line, _SUCCESS, nothing temporary left, `parts` part files when >= 0)
// and the top 10 printed on stdout.
void CheckWordCount(const std::string& master, const std::vector<std::string>& flags,
                    const std::string& input, const WordCounts& expected, int parts) {
  TempDir dir("kiln-wc-out-");
  const std::string out = dir.Sub("out");
  auto start = std::chrono::steady_clock::now();
  CommandResult r = Submit(master, flags, BinPath("wordcount"), {input, out});
  auto ms = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
  INFO("kiln-submit --master " << master << " " << Join(flags, " ") << " wordcount " << input
                               << " (" << ms.count() << " ms): " << r.ToString());
  REQUIRE(r.exit_code == 0);
  CHECK_FALSE(AppIdFromStderr(r.err).empty());
  CHECK(PathExists(out + "/_SUCCESS"));
  CHECK_FALSE(PathExists(out + "/_temporary"));
  std::vector<std::string> names = PartFiles(out);
  for (size_t i = 0; i < names.size(); ++i) {  // part-00000 ... part-(n-1), nothing else
    char want[32];
    std::snprintf(want, sizeof(want), "part-%05zu", i);
    CHECK(names[i] == want);
  }
  CHECK(ListDir(out).size() == names.size() + 1);  // + _SUCCESS
  if (parts >= 0) CHECK(names.size() == static_cast<size_t>(parts));
  std::string all = ReadParts(out);
  CHECK((all.empty() || all.back() == '\n'));
  CHECK(SortedLines(all) == WordCountLines(expected));
  CHECK(r.out == TopTen(expected));
}

WordCounts CountOf(const std::string& text) {
  WordCounts counts;
  CountWords(text, &counts);
  return counts;
}

TEST_CASE("jobs: wordcount on a 2-worker cluster equals the reference", "[jobs][wordcount]") {
  TempDir in("kiln-wc-in-");
  const std::string text = GenerateText(/*seed=*/1, /*lines=*/4000);
  WriteTestFile(in.Sub("input.txt"), text);
  WordCounts expected = CountOf(text);
  REQUIRE(expected.size() > 10);

  MiniCluster cluster;
  REQUIRE_OK(cluster.Start());
  // 4 reduce partitions: the default parallelism is the cluster's 2 x 2 executor cores.
  CheckWordCount(cluster.master_url(), {}, in.Sub("input.txt"), expected, 4);
  REQUIRE_OK(CheckClusterIdle(cluster));

  // The application's normal end: each worker lists its executor as EXITED, none killed.
  for (int port : cluster.worker_ui_ports()) {
    // An executor leaves the worker's table when it is reaped and joins the finished list
    // as it is reported, a moment later.
    absl::StatusOr<std::string> body;
    nlohmann::json finished;
    WaitFor(
        [&] {
          body = HttpGet("127.0.0.1", port, "/json");
          if (body.ok()) finished = nlohmann::json::parse(*body)["finishedexecutors"];
          return body.ok() && !finished.empty();
        },
        seconds(10));
    REQUIRE_OK(body);
    INFO(*body);
    CHECK(finished.size() == 1);
    for (const auto& e : finished) {
      CHECK(e["state"] == "EXITED");
      // Stopped by the worker as the application ended, or ended by the driver first.
      CHECK((e["message"] == "its application ended (exit code 0)" ||
             e["message"] == "exited normally"));
    }
  }

  // The daemons' logs give memory in human units, as the pages do: memory="1.0 GiB".
  for (const std::string& log : {cluster.master_log(), cluster.worker_log(0)}) {
    const std::string text = ReadFile(log).value_or("");
    INFO(log << ":\n" << text);
    int seen = 0;
    for (size_t at = text.find(" memory="); at != std::string::npos;
         at = text.find(" memory=", at + 1), ++seen) {
      const size_t end = text.find('"', at + 9);
      REQUIRE(end != std::string::npos);
      const std::string value = text.substr(at + 8, end + 1 - (at + 8));
      CHECK((value.starts_with("\"") && (value.ends_with(" GiB\"") || value.ends_with(" MiB\""))));
      CHECK(value.find('.') == value.size() - 7);  // one decimal
    }
    CHECK(seen >= 2);  // registration and launch
  }
}

TEST_CASE("jobs: wordcount in local[2] equals the reference", "[jobs][wordcount]") {
  TempDir in("kiln-wc-in-");
  const std::string text = GenerateText(/*seed=*/1, /*lines=*/4000);
  WriteTestFile(in.Sub("input.txt"), text);
  CheckWordCount("local[2]", {}, in.Sub("input.txt"), CountOf(text), 2);
}

// A directory of files of different shapes, whose lines straddle small splits; files
// named _* and .* are not input.
WordCounts WriteInputDir(const std::string& dir) {
  WordCounts expected;
  for (uint32_t seed = 2; seed <= 5; ++seed) {
    std::string text = GenerateText(seed, 30 + 15 * static_cast<int>(seed));
    if (seed == 3) text += "\n";  // this one ends with a newline
    WriteTestFile(dir + "/file-" + std::to_string(seed) + ".txt", text);
    CountWords(text, &expected);
  }
  std::string long_line(300, 'w');  // one word longer than several splits
  long_line += " tail\r\nnext";
  WriteTestFile(dir + "/long.txt", long_line);
  CountWords(long_line, &expected);
  WriteTestFile(dir + "/empty.txt", "");
  WriteTestFile(dir + "/_ignored.txt", "ignored words here\n");
  WriteTestFile(dir + "/.hidden", "hidden words here\n");
  return expected;
}

TEST_CASE("jobs: wordcount over a directory with small splits on the cluster",
          "[jobs][wordcount][splits]") {
  TempDir in("kiln-wc-in-");
  WordCounts expected = WriteInputDir(in.path());
  MiniCluster cluster;
  REQUIRE_OK(cluster.Start());
  // Three jobs, one after the other, on the same cluster.
  CheckWordCount(cluster.master_url(), {"--conf", "kiln.files.maxPartitionBytes=37"}, in.path(),
                 expected, 4);
  CheckWordCount(cluster.master_url(), {"--conf", "kiln.files.maxPartitionBytes=1000"}, in.path(),
                 expected, 4);
  CheckWordCount(
      cluster.master_url(),
      {"--conf", "kiln.files.maxPartitionBytes=37", "--conf", "kiln.default.parallelism=3"},
      in.path(), expected, 3);
  REQUIRE_OK(CheckClusterIdle(cluster));
}

TEST_CASE("jobs: wordcount over a directory with small splits in local[2]",
          "[jobs][wordcount][splits]") {
  TempDir in("kiln-wc-in-");
  WordCounts expected = WriteInputDir(in.path());
  CheckWordCount("local[2]", {"--conf", "kiln.files.maxPartitionBytes=37"}, in.path(), expected, 2);
  CheckWordCount("local[2]", {"--conf", "kiln.files.maxPartitionBytes=1000"}, in.path(), expected,
                 2);
  CheckWordCount(
      "local[2]",
      {"--conf", "kiln.files.maxPartitionBytes=37", "--conf", "kiln.default.parallelism=3"},
      in.path(), expected, 3);
}

TEST_CASE("jobs: wordcount writes the same bytes on a cluster, in local[2] and in local[1]",
          "[jobs][wordcount][deterministic]") {
  TempDir in("kiln-wc-in-");
  WriteTestFile(in.Sub("input.txt"), GenerateText(/*seed=*/7, /*lines=*/3000));
  // Many small map tasks, so that map outputs spread over both workers.
  const std::vector<std::string> flags = {"--conf", "kiln.files.maxPartitionBytes=4000", "--conf",
                                          "kiln.default.parallelism=3"};
  auto run = [&](const std::string& master, const std::string& name) {
    TempDir out("kiln-wc-out-");
    CommandResult r =
        Submit(master, flags, BinPath("wordcount"), {in.Sub("input.txt"), out.Sub(name)});
    INFO(master << ": " << r.ToString());
    REQUIRE(r.exit_code == 0);
    REQUIRE(PartFiles(out.Sub(name)).size() == 3);
    return ReadParts(out.Sub(name));
  };
  MiniCluster cluster;
  REQUIRE_OK(cluster.Start());
  const std::string reference = run(cluster.master_url(), "a");
  CHECK_FALSE(reference.empty());
  CHECK(run(cluster.master_url(), "b") == reference);
  CHECK(run("local[2]", "c") == reference);
  CHECK(run("local[1]", "d") == reference);
  REQUIRE_OK(CheckClusterIdle(cluster));
}

}  // namespace
}  // namespace kiln::test::jobs
