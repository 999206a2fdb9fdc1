// city_report end to end (two shuffles, two joins, a sort): its output, read part after
// part, must equal the report computed here byte for byte.
#include <string>
#include <vector>

#include "common/strings.h"
#include "tests/jobs/job_util.h"
#include "tests/kiln_catch.h"
#include "tests/support/mini_cluster.h"
#include "tests/support/test_util.h"

namespace kiln::test::jobs {
namespace {

void CheckCityReport(const std::string& master, const std::vector<std::string>& flags) {
  TempDir dir("kiln-city-");
  CityData data = GenerateCityData(/*seed=*/7, /*users=*/400, /*orders=*/3000);
  WriteTestFile(dir.Sub("users.csv"), data.users_csv);
  WriteTestFile(dir.Sub("orders.csv"), data.orders_csv);
  const std::string out = dir.Sub("report");
  CommandResult r = Submit(master, flags, BinPath("city_report"),
                           {dir.Sub("users.csv"), dir.Sub("orders.csv"), out});
  INFO("city_report on " << master << " " << Join(flags, " ") << ": " << r.ToString());
  REQUIRE(r.exit_code == 0);
  CHECK(PathExists(out + "/_SUCCESS"));
  CHECK_FALSE(PathExists(out + "/_temporary"));
  CHECK_FALSE(PartFiles(out).empty());
  // Sorted by city across parts: the concatenation is the whole sorted report.
  CHECK(ReadParts(out) == data.expected);
}

TEST_CASE("jobs: city_report on a 2-worker cluster equals the reference", "[jobs][city_report]") {
  MiniCluster cluster;
  REQUIRE_OK(cluster.Start());
  // Small splits, so that the inputs' partitions spread over both workers.
  CheckCityReport(cluster.master_url(), {"--conf", "kiln.files.maxPartitionBytes=4096"});
  REQUIRE_OK(CheckClusterIdle(cluster));
}

TEST_CASE("jobs: city_report in local[2] equals the reference", "[jobs][city_report]") {
  CheckCityReport("local[2]", {});
  CheckCityReport("local[2]", {"--conf", "kiln.files.maxPartitionBytes=1000", "--conf",
                               "kiln.default.parallelism=3"});
}

// A city with active users but no orders is reported with a total of 0.00 (the report
// left-outer-joins the active counts with the order totals).
TEST_CASE("jobs: city_report reports a city with active users and no orders",
          "[jobs][city_report]") {
  TempDir dir("kiln-city-");
  WriteTestFile(dir.Sub("users.csv"),
                "id,name,city,status\n1,a,Oslo,active\n2,b,Rome,active\n3,c,Rome,inactive\n");
  WriteTestFile(dir.Sub("orders.csv"), "id,user_id,amount\n10,3,5.5\n");
  const std::string out = dir.Sub("report");
  CommandResult r = Submit("local[2]", {}, BinPath("city_report"),
                           {dir.Sub("users.csv"), dir.Sub("orders.csv"), out});
  INFO(r.ToString());
  REQUIRE(r.exit_code == 0);
  CHECK(ReadParts(out) == "Oslo\t1\t0.00\nRome\t1\t5.50\n");
}

}  // namespace
}  // namespace kiln::test::jobs
