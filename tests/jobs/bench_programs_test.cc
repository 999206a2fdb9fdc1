// The benchmark programs (bench/) stay correct: the generator is deterministic, Kiln's
// word count and sort agree with the single-thread baselines under the checkers the
// harness uses, and the shuffle benchmark reads back what it wrote. Small inputs, no
// timing (performance is measured by bench/run.sh, not by tests).
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "common/strings.h"
#include "tests/jobs/job_util.h"
#include "tests/kiln_catch.h"
#include "tests/support/test_util.h"

namespace kiln::test::jobs {
namespace {

using namespace std::chrono_literals;

CommandResult Run(const std::vector<std::string>& argv) { return RunCommand(argv, 120s); }

std::string Data(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {BinPath("bench_data")};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = Run(argv);
  INFO(r.ToString());
  REQUIRE(r.exit_code == 0);
  return r.out;
}

TEST_CASE("bench: the generator is deterministic", "[bench]") {
  TempDir dir("kiln-bench-test-");
  Data({"text", "100000", "42", dir.Sub("a")});
  Data({"text", "100000", "42", dir.Sub("b")});
  Data({"text", "100000", "43", dir.Sub("c")});
  CHECK(ReadTestFile(dir.Sub("a")) == ReadTestFile(dir.Sub("b")));
  CHECK(ReadTestFile(dir.Sub("a")) != ReadTestFile(dir.Sub("c")));
  Data({"records", "10000", "7", dir.Sub("r")});
  std::string records = ReadTestFile(dir.Sub("r"));
  CHECK(records.size() == 10000);
  for (size_t i = 99; i < records.size(); i += 100) CHECK(records[i] == '\n');
}

TEST_CASE("bench: a large vocabulary gives each rank its own word", "[bench]") {
  TempDir dir("kiln-bench-test-");
  Data({"text", "2000000", "43", dir.Sub("a"), "50000000"});
  Data({"text", "2000000", "43", dir.Sub("b"), "50000000"});
  const std::string text = ReadTestFile(dir.Sub("a"));
  CHECK(text == ReadTestFile(dir.Sub("b")));
  REQUIRE_FALSE(text.empty());
  std::set<std::string> distinct;
  size_t words = 0;
  for (std::string_view line : Split(text, '\n', /*skip_empty=*/true)) {
    for (std::string_view word : Split(line, ' ')) {
      REQUIRE(word.size() >= 4);  // 3 letters of hash, then the rank
      distinct.emplace(word);
      ++words;
    }
  }
  // Zipf over 50M words: about half of 200k draws are distinct words.
  CHECK(distinct.size() > words / 4);
  CHECK(Run({BinPath("bench_data"), "text", "100", "1", dir.Sub("c"), "0"}).exit_code != 0);
}

TEST_CASE("bench: Kiln's word count and sort agree with the single-thread baselines", "[bench]") {
  TempDir dir("kiln-bench-test-");
  const std::string text = dir.Sub("text"), records = dir.Sub("records");
  Data({"text", "2000000", "42", text});
  Data({"records", "1000000", "7", records});

  CommandResult single = Run({BinPath("bench_single_wordcount"), text, dir.Sub("wc-single")});
  REQUIRE(single.exit_code == 0);
  CommandResult kiln =
      Submit("local[2]", {}, BinPath("kiln_bench"), {"wordcount", text, dir.Sub("wc-kiln"), "3"});
  INFO(kiln.ToString());
  REQUIRE(kiln.exit_code == 0);
  CHECK(kiln.out.find("BENCH seconds ") != std::string::npos);
  const std::string expected = Data({"check-words", dir.Sub("wc-single")});
  CHECK(expected.find("lines=") == 0);
  CHECK(Data({"check-words", dir.Sub("wc-kiln")}) == expected);

  REQUIRE(Run({BinPath("bench_single_sort"), records, dir.Sub("sort-single")}).exit_code == 0);
  kiln =
      Submit("local[2]", {}, BinPath("kiln_bench"), {"sort", records, dir.Sub("sort-kiln"), "3"});
  REQUIRE(kiln.exit_code == 0);
  CHECK(Data({"check-sort", records, dir.Sub("sort-kiln")}) ==
        Data({"check-sort", records, dir.Sub("sort-single")}));
  // The checkers fail an unsorted output, and a sorted one that lost a line.
  std::filesystem::create_directories(dir.Sub("unsorted"));
  std::filesystem::create_directories(dir.Sub("short"));
  WriteTestFile(dir.Sub("unsorted/part-00000"), ReadTestFile(records));
  CHECK(Run({BinPath("bench_data"), "check-sort", records, dir.Sub("unsorted")}).exit_code == 1);
  std::string sorted = ReadTestFile(dir.Sub("sort-single/part-00000"));
  WriteTestFile(dir.Sub("short/part-00000"), sorted.substr(100));
  CHECK(Run({BinPath("bench_data"), "check-sort", records, dir.Sub("short")}).exit_code == 1);
}

TEST_CASE("bench: Kiln's PageRank agrees with the single-thread baseline", "[bench]") {
  TempDir dir("kiln-bench-test-");
  const std::string graph = dir.Sub("graph");
  Data({"graph", "3000", "30000", "11", graph});
  REQUIRE(Run({BinPath("bench_single_pagerank"), graph, "5", dir.Sub("single")}).exit_code == 0);
  const std::string expected = Data({"check-ranks", dir.Sub("single")});
  CHECK(expected.find("vertices=") == 0);
  // On more partitions than executor cores, so cached links are reused across rounds.
  CommandResult kiln =
      Submit("local[2]", {}, BinPath("kiln_bench"), {"pagerank", graph, "5", dir.Sub("kiln"), "3"});
  INFO(kiln.ToString());
  REQUIRE(kiln.exit_code == 0);
  CHECK(Data({"check-ranks", dir.Sub("kiln")}) == expected);
  // Another number of rounds gives other ranks.
  REQUIRE(Run({BinPath("bench_single_pagerank"), graph, "4", dir.Sub("single4")}).exit_code == 0);
  CHECK(Data({"check-ranks", dir.Sub("single4")}) != expected);
}

TEST_CASE("bench: the shuffle benchmark reads back every byte it wrote", "[bench]") {
  CommandResult r = Submit("local[2]", {"--conf", "kiln.io.compression.codec=none"},
                           BinPath("kiln_bench"), {"shuffle", "20000000", "4", "5"});
  INFO(r.ToString());
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("BENCH bytes 20000000\n") != std::string::npos);
}

}  // namespace
}  // namespace kiln::test::jobs
