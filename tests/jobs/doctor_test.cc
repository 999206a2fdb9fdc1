// The job doctor on a real cluster: one worker's executor is slow (tests/apps/
// slow_host_app), and the driver names it at the job's end; the event log the driver wrote
// gives kiln-doctor the same finding, also once the log is cut mid-line as a crash would
// leave it. The rules themselves are unit-tested in tests/driver/doctor_test.cc.

#include <filesystem>
#include <string>

#include "common/files.h"
#include "common/http_client.h"
#include "common/strings.h"
#include "common/wait.h"
#include "tests/jobs/background_submit.h"
#include "tests/jobs/job_util.h"
#include "tests/kiln_catch.h"
#include "tests/support/mini_cluster.h"
#include "tests/support/run_command.h"
#include "tests/support/test_util.h"

namespace kiln::test::jobs {
namespace {

namespace fs = std::filesystem;

TEST_CASE("doctor: a slow worker is named at the job's end and by kiln-doctor from the log",
          "[jobs][doctor]") {
  TempDir dir("kiln-doctor-job-");
  MiniCluster cluster;  // 2 workers of 2 cores: one executor on each
  REQUIRE_OK(cluster.Start());
  const std::string events = dir.Sub("events");
  CommandResult r =
      Submit(cluster.master_url(),
             {"--conf", "kiln.eventLog.enabled=true", "--conf", "kiln.eventLog.dir=" + events},
             AppPath("slow_host_app"), {dir.Sub("out"), "/worker-1/"}, seconds(90));
  INFO(r.ToString());
  REQUIRE(r.exit_code == 0);
  std::string reference;
  for (int64_t x = 0; x < 12 * 40; ++x) StrAppend(&reference, 2 * x, "\n");
  CHECK(ReadParts(dir.Sub("out")) == reference);
  // The driver's report, at the end of the job.
  CHECK(r.err.find("kiln doctor: job 0 (save_as_text_file): 1 finding\n  [straggler] stage 0 "
                   "(map): executor ") != std::string::npos);
  CHECK(r.err.find("on host 127.0.0.1 is slow: ") != std::string::npos);

  const std::string app = AppIdFromStderr(r.err);
  REQUIRE_FALSE(app.empty());
  const std::string log = events + "/" + app;
  REQUIRE(fs::exists(log));  // renamed from .inprogress at the end
  CommandResult doctor = RunCommand({BinPath("kiln-doctor"), log}, seconds(30));
  INFO(doctor.ToString());
  CHECK(doctor.exit_code == 0);
  CHECK(doctor.out.starts_with(
      StrCat("kiln doctor: ", app, " (slow_host_app): 1 job(s), 1 finding(s); FINISHED\n")));
  CHECK(doctor.out.find("[straggler] stage 0 (map): executor ") != std::string::npos);

  // Cut in the middle of the last line: what came before is still read.
  absl::StatusOr<std::string> text = ReadFile(log);
  REQUIRE_OK(text);
  const size_t last_line = text->rfind('\n', text->size() - 2);
  REQUIRE(last_line != std::string::npos);
  REQUIRE_OK(WriteFileAtomic(dir.Sub("cut"), text->substr(0, last_line + 10)));
  CommandResult cut = RunCommand({BinPath("kiln-doctor"), dir.Sub("cut")}, seconds(30));
  INFO(cut.ToString());
  CHECK(cut.exit_code == 0);
  CHECK(cut.out.find("1 finding(s); not ended") != std::string::npos);
  CHECK(cut.err.find("ends in the middle of a line") != std::string::npos);

  // Bad input: one line naming the problem, and a non-zero exit.
  CommandResult missing = RunCommand({BinPath("kiln-doctor"), dir.Sub("nope")}, seconds(30));
  CHECK(missing.exit_code == 1);
  CHECK(missing.err.find(dir.Sub("nope")) != std::string::npos);
  CommandResult no_job = RunCommand({BinPath("kiln-doctor"), "--job", "7", log}, seconds(30));
  CHECK(no_job.exit_code == 1);
  CHECK(no_job.err == StrCat("kiln-doctor: --job 7: ", log, " has no job 7\n"));
  REQUIRE_OK(CheckClusterIdle(cluster));
}

TEST_CASE(
    "ui: a running application's UI is linked from the master, and its executors' logs "
    "from the UI",
    "[jobs][ui]") {
  TempDir dir("kiln-ui-job-");
  MiniCluster cluster;
  REQUIRE_OK(cluster.Start());
  // slow_app with `cached` runs a first job, prints "cached N", then waits for out.go.
  BackgroundSubmit submit(cluster.master_url(), dir, {dir.Sub("out"), "cached"},
                          {"KILN_CONF_kiln_ui_port=0"});
  REQUIRE(
      WaitFor([&] { return ReadFile(dir.Sub("submit.out")).value_or("").starts_with("cached"); },
              seconds(60)));
  const Json state = cluster.MasterState();
  REQUIRE(state["activeapps"].size() == 1);
  const Json& app = state["activeapps"][0];
  const std::string url = app["appuiurl"].get<std::string>();
  CHECK(ReadFile(dir.Sub("submit.err")).value_or("").find("application UI at " + url) !=
        std::string::npos);
  REQUIRE(url.starts_with("http://127.0.0.1:"));
  const int port = std::stoi(url.substr(url.rfind(':') + 1));
  absl::StatusOr<std::string> master_page = HttpGet("127.0.0.1", cluster.master_ui_port(), "/");
  REQUIRE_OK(master_page);
  CHECK(master_page->find("<a href=\"" + url + "/\">") != std::string::npos);
  // So do the workers' pages, on the application's id.
  for (int ui_port : cluster.worker_ui_ports()) {
    absl::StatusOr<std::string> worker_page = HttpGet("127.0.0.1", ui_port, "/");
    REQUIRE_OK(worker_page);
    CHECK(worker_page->find("<a href=\"" + url + "/\">" + app["id"].get<std::string>() + "</a>") !=
          std::string::npos);
  }

  const std::string id = app["id"].get<std::string>();
  absl::StatusOr<std::string> body =
      HttpGet("127.0.0.1", port, "/api/v1/applications/" + id + "/executors");
  REQUIRE_OK(body);
  const Json executors = Json::parse(*body);
  REQUIRE(executors.size() == 2);
  for (const Json& e : executors) {
    INFO(e.dump());
    CHECK(e["completedTasks"].get<int>() > 0);
    for (const char* log : {"stdout", "stderr"}) {
      const std::string link = e["executorLogs"][log].get<std::string>();
      const std::string rest = link.substr(std::string("http://127.0.0.1:").size());
      const size_t slash = rest.find('/');
      CHECK_OK(HttpGet("127.0.0.1", std::stoi(rest.substr(0, slash)), rest.substr(slash)).status());
    }
  }
  absl::StatusOr<std::string> executors_page = HttpGet("127.0.0.1", port, "/executors");
  REQUIRE_OK(executors_page);
  CHECK(executors_page->find("/executor-0/stderr\">stderr</a>") != std::string::npos);

  WriteTestFile(dir.Sub("out.go"), "");
  const auto& exit = submit.Wait(seconds(60));
  REQUIRE(exit.has_value());
  INFO("kiln-submit stderr: " << ReadFile(dir.Sub("submit.err")).value_or(""));
  CHECK(exit->code() == 0);
  REQUIRE_OK(CheckClusterIdle(cluster));
  // Ended: the master no longer links a UI that is gone.
  absl::StatusOr<std::string> after = HttpGet("127.0.0.1", cluster.master_ui_port(), "/");
  REQUIRE_OK(after);
  CHECK(after->find("<a href=\"" + url + "/\">") == std::string::npos);
}

}  // namespace
}  // namespace kiln::test::jobs
