// Broadcast variables on a 2-worker cluster (tests/apps/broadcast_app): a 200 MiB value
// read by 1,000 tasks crosses the network once per executor, the second executor takes
// it from the first one's worker rather than the driver, a broadcast hash join moves no
// shuffle data, unpersist makes the next job fetch again, and a destroyed broadcast fails
// the job naming it. Local mode and the parts are tested in tests/driver and
// tests/runtime.

#include <map>
#include <string>

#include "common/http_client.h"
#include "common/strings.h"
#include "tests/jobs/job_util.h"
#include "tests/kiln_catch.h"
#include "tests/support/mini_cluster.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/test_util.h"

namespace kiln::test::jobs {
namespace {

// "key=value" words of the output's line starting with `name`.
std::map<std::string, std::string> Figures(const std::string& out, const std::string& name) {
  std::map<std::string, std::string> figures;
  for (std::string_view line : Split(out, '\n')) {
    if (!line.starts_with(name + " ") && !line.starts_with(name + "=")) continue;
    for (std::string_view word : Split(line, ' ')) {
      const size_t eq = word.find('=');
      if (eq != std::string_view::npos) {
        figures[std::string(word.substr(0, eq))] = std::string(word.substr(eq + 1));
      }
    }
  }
  return figures;
}

double WorkerBroadcastBytesServed(const MiniCluster& cluster) {
  double served = 0;
  for (int i = 0; i < cluster.num_workers(); ++i) {
    absl::StatusOr<std::string> text = HttpGet("127.0.0.1", cluster.worker_ui_port(i), "/metrics");
    REQUIRE_OK(text.status());
    absl::StatusOr<MetricSamples> samples = ParseMetrics(*text);
    REQUIRE_OK(samples.status());
    served += samples->at("kiln_worker_broadcast_bytes_served_total");
  }
  return served;
}

TEST_CASE("broadcast: a 200 MiB value crosses once per executor, from peers when it can",
          "[jobs][broadcast]") {
  MiniCluster cluster;  // 2 workers of 2 cores: one executor on each
  REQUIRE_OK(cluster.Start());
  CommandResult r =
      Submit(cluster.master_url(), {}, AppPath("broadcast_app"), {"200"}, seconds(120));
  INFO(r.ToString());
  REQUIRE(r.exit_code == 0);
  const std::string encoded = Figures(r.out, "encoded")["encoded"];
  REQUIRE(std::stoll(encoded) > 200 << 20);
  // One task: its executor fetches the whole value.
  CHECK(Figures(r.out, "warm") ==
        std::map<std::string, std::string>{{"ok", "1"}, {"broadcast_bytes", encoded}});
  // 1,000 tasks on both executors: only the other one fetches, once.
  CHECK(Figures(r.out, "wide") ==
        std::map<std::string, std::string>{{"ok", "1"}, {"broadcast_bytes", encoded}});
  CHECK(Figures(r.out, "join") ==
        std::map<std::string, std::string>{{"ok", "1"}, {"stages", "1"}, {"shuffle_bytes", "0"}});
  // After unpersist, one task fetches it again.
  CHECK(Figures(r.out, "again") ==
        std::map<std::string, std::string>{{"ok", "1"}, {"broadcast_bytes", encoded}});
  // The second executor took every chunk from the first one's worker, not the driver
  // (the first and the refetch found no holder: theirs came from the driver). The join's
  // small table came from the driver to both executors, or to the second from the
  // first's worker, depending on which asked first.
  const double served = WorkerBroadcastBytesServed(cluster);
  const double table = std::stod(Figures(r.out, "table_encoded")["table_encoded"]);
  REQUIRE(table > 1000);
  CHECK((served == std::stod(encoded) || served == std::stod(encoded) + table));
  REQUIRE_OK(CheckClusterIdle(cluster));
}

TEST_CASE("broadcast: chunks a worker will not serve come from the driver", "[jobs][broadcast]") {
  // Every worker refuses chunk fetches (as a failing server would): the second executor
  // tries the first one's worker for each chunk, then takes it from the driver.
  MiniCluster cluster(MiniClusterOptions{.worker_conf = {"kiln.test.failShuffleFetches=true"}});
  REQUIRE_OK(cluster.Start());
  CommandResult r = Submit(cluster.master_url(), {}, AppPath("broadcast_app"), {"16"}, seconds(60));
  INFO(r.ToString());
  REQUIRE(r.exit_code == 0);
  const std::string encoded = Figures(r.out, "encoded")["encoded"];
  for (const char* job : {"warm", "wide", "again"}) {
    INFO(job);
    CHECK(Figures(r.out, job) ==
          std::map<std::string, std::string>{{"ok", "1"}, {"broadcast_bytes", encoded}});
  }
  CHECK(WorkerBroadcastBytesServed(cluster) == 0);
  REQUIRE_OK(CheckClusterIdle(cluster));
}

TEST_CASE("broadcast: a job using a destroyed broadcast fails naming it", "[jobs][broadcast]") {
  MiniCluster cluster;
  REQUIRE_OK(cluster.Start());
  CommandResult r =
      Submit(cluster.master_url(), {}, AppPath("broadcast_app"), {"1", "destroyed"}, seconds(60));
  INFO(r.ToString());
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("broadcast 0 (std::") != std::string::npos);
  CHECK(r.err.find("was destroyed (Broadcast::destroy()) and cannot be used any more") !=
        std::string::npos);
  REQUIRE_OK(CheckClusterIdle(cluster));
}

}  // namespace
}  // namespace kiln::test::jobs
