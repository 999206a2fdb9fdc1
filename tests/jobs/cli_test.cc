// The three programs speak with one voice: --version, --help with every flag, and the
// same wording for an unknown flag.

#include <regex>
#include <string>
#include <vector>

#include "tests/jobs/job_util.h"
#include "tests/kiln_catch.h"

namespace kiln::test::jobs {
namespace {

const std::vector<std::string> kPrograms = {"kiln-master", "kiln-worker", "kiln-submit"};

TEST_CASE("cli: every program prints its version, commit and build type", "[cli]") {
  for (const std::string& program : kPrograms) {
    CommandResult r = RunCommand({BinPath(program), "--version"}, seconds(10));
    INFO(r.ToString());
    CHECK(r.exit_code == 0);
    CHECK(std::regex_match(
        r.out, std::regex(program + R"( \d+\.\d+\.\d+ \(commit ([0-9a-f]{12}(-dirty)?|unknown), )"
                                    R"([A-Za-z ]+ build\)\n)")));
  }
}

TEST_CASE(
    "cli: every program's --help lists --version and --help, and an unknown flag is "
    "reported in one wording",
    "[cli]") {
  for (const std::string& program : kPrograms) {
    CommandResult help = RunCommand({BinPath(program), "--help"}, seconds(10));
    INFO(help.ToString());
    CHECK(help.exit_code == 0);
    CHECK(help.out.find("--version") != std::string::npos);
    CHECK(help.out.find("--help") != std::string::npos);
    CHECK(help.out.find("--conf") != std::string::npos);
    CommandResult bad = RunCommand({BinPath(program), "--bogus"}, seconds(10));
    INFO(bad.ToString());
    CHECK(bad.exit_code == 2);
    CHECK(bad.err == program + ": unknown flag --bogus (see " + program + " --help)\n");
  }
}

}  // namespace
}  // namespace kiln::test::jobs
