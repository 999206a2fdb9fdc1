// Using Kiln from outside its tree: `cmake --install` into a fresh prefix, then
// examples/standalone (its own CMake project: find_package(Kiln), Kiln::kiln) built
// against that prefix, and run by the installed kiln-submit in local mode and on a
// 2-worker mini cluster, where the job's own binary is every executor.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/strings.h"
#include "tests/jobs/job_util.h"
#include "tests/kiln_catch.h"
#include "tests/support/mini_cluster.h"
#include "tests/support/test_util.h"

namespace kiln::test::jobs {
namespace {

using std::chrono::minutes;

// What examples/standalone/word_lengths writes and prints for `text`, computed here.
struct Expected {
  std::string lines;  // "length\tcount\n", shortest first
  std::string out;    // its stdout
};

Expected WordLengths(const std::string& text) {
  WordCounts words;
  CountWords(text, &words);
  std::map<int64_t, int64_t> lengths;
  for (const auto& [word, count] : words) lengths[static_cast<int64_t>(word.size())] += count;
  Expected e;
  std::pair<int64_t, int64_t> top{0, 0};
  for (const auto& [length, count] : lengths) {
    StrAppend(&e.lines, length, "\t", count, "\n");
    if (count > top.second) top = {length, count};  // ties: the shorter length stays
  }
  e.out = StrCat("most common length: ", top.first, " (", top.second, " words)\n");
  return e;
}

CommandResult Run(const std::vector<std::string>& argv, minutes timeout) {
  CommandResult r = RunCommand(argv, timeout);
  UNSCOPED_INFO(Join(argv, " ") << ": " << r.ToString());
  return r;
}

TEST_CASE("install: a job built against the installed Kiln runs locally and on a cluster",
          "[install]") {
  TempDir dir("kiln-install-");
  const std::string prefix = dir.Sub("prefix");
  const std::string build = dir.Sub("build");
  REQUIRE(
      Run({KILN_CMAKE, "--install", KILN_BUILD_DIR, "--prefix", prefix}, minutes(2)).exit_code ==
      0);
  // The public headers are installed; the RPC layer is not.
  CHECK(PathExists(prefix + "/include/kiln/driver/kiln.h"));
  CHECK_FALSE(PathExists(prefix + "/include/kiln/common/rpc.h"));
  CHECK(PathExists(prefix + "/" KILN_INSTALL_LIBDIR "/cmake/Kiln/KilnConfig.cmake"));
  REQUIRE(Run({KILN_CMAKE, "-S", std::string(KILN_SOURCE_DIR) + "/examples/standalone", "-B", build,
               "-G", KILN_CMAKE_GENERATOR, "-DCMAKE_PREFIX_PATH=" + prefix},
              minutes(2))
              .exit_code == 0);
  REQUIRE(Run({KILN_CMAKE, "--build", build}, minutes(10)).exit_code == 0);
  const std::string job = build + "/word_lengths";
  REQUIRE(PathExists(job));

  const std::string text = GenerateText(/*seed=*/7, /*lines=*/3000);
  WriteTestFile(dir.Sub("input.txt"), text);
  const Expected expected = WordLengths(text);
  REQUIRE(!expected.lines.empty());

  MiniCluster cluster;
  REQUIRE_OK(cluster.Start());
  for (const std::string& master : {std::string("local[2]"), cluster.master_url()}) {
    const std::string out = dir.Sub(master == "local[2]" ? "out-local" : "out-cluster");
    CommandResult r = Run({prefix + "/bin/kiln-submit", "--master", master, "--conf",
                           "kiln.ui.showConsoleProgress=false", job, dir.Sub("input.txt"), out},
                          minutes(2));
    REQUIRE(r.exit_code == 0);
    CHECK(PathExists(out + "/_SUCCESS"));
    CHECK(ReadParts(out) == expected.lines);  // sorted across its part files
    CHECK(r.out == expected.out);
  }
  REQUIRE_OK(CheckClusterIdle(cluster));
}

}  // namespace
}  // namespace kiln::test::jobs
