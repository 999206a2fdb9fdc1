// The worker's /json and HTML page (executors and drivers), and the stderr tail in failure
// reports.

#include "worker/worker_ui.h"

#include "common/files.h"
#include "nlohmann/json.hpp"
#include "tests/kiln_catch.h"
#include "tests/support/test_util.h"
#include "worker/log_tail.h"
#include "worker/state_reporter.h"

namespace kiln::worker {
namespace {

TEST_CASE("the worker's /json lists its resources and executors", "[worker][ui]") {
  WorkerInfo info{.id = "worker-1-h-7078",
                  .host = "h",
                  .port = 7078,
                  .ui_port = 8081,
                  .master_url = "kiln://m:7077",
                  .cores = 8,
                  .memory_mb = 4096};
  std::vector<ExecutorView> executors{
      {.spec = {.app_id = "app-1", .executor_id = 0, .cores = 2, .memory_mb = 1024},
       .running = true,
       .pid = 42},
      {.spec = {.app_id = "app-\"2", .executor_id = 1, .cores = 1, .memory_mb = 512},
       .running = false,
       .pid = 0},
  };
  FinishedExecutors finished;
  proto::ExecutorStateChangedRequest ended;
  ended.set_app_id("app-0");
  ended.set_executor_id(3);
  ended.set_state(proto::EXECUTOR_EXITED);
  ended.set_message("its application ended (exit code 0)");
  finished.Add(ended);
  ended.set_executor_id(4);
  ended.set_state(proto::EXECUTOR_FAILED);
  ended.set_exit_code(-9);
  ended.set_message("killed <by> signal 9");
  finished.Add(ended);
  auto json = nlohmann::json::parse(WorkerJson(info, executors, finished.Snapshot(), {}));
  CHECK(json["id"] == "worker-1-h-7078");
  CHECK(json["host"] == "h");
  CHECK(json["port"] == 7078);
  CHECK(json["masterurl"] == "kiln://m:7077");
  CHECK(json["cores"] == 8);
  CHECK(json["coresused"] == 3);
  CHECK(json["memory"] == 4096);
  CHECK(json["memoryused"] == 1536);
  REQUIRE(json["executors"].size() == 2);
  CHECK(json["executors"][0]["appid"] == "app-1");
  CHECK(json["executors"][0]["id"] == 0);
  CHECK(json["executors"][0]["cores"] == 2);
  CHECK(json["executors"][0]["memory"] == 1024);
  CHECK(json["executors"][0]["state"] == "RUNNING");
  CHECK(json["executors"][0]["pid"] == 42);
  CHECK(json["executors"][1]["appid"] == "app-\"2");
  CHECK(json["executors"][1]["state"] == "LAUNCHING");
  REQUIRE(json["finishedexecutors"].size() == 2);
  CHECK(json["finishedexecutors"][0] ==
        nlohmann::json{{"appid", "app-0"},
                       {"id", 3},
                       {"state", "EXITED"},
                       {"exitcode", 0},
                       {"message", "its application ended (exit code 0)"}});
  CHECK(json["finishedexecutors"][1]["state"] == "FAILED");
  CHECK(json["finishedexecutors"][1]["exitcode"] == -9);

  auto empty = nlohmann::json::parse(WorkerJson(info, {}, {}, {}));
  CHECK(empty["executors"].empty());
  CHECK(empty["finishedexecutors"].empty());
  CHECK(empty["coresused"] == 0);
  CHECK(empty["drivers"].empty());
  CHECK(empty["finisheddrivers"].empty());

  std::string html = WorkerHtml(info, executors, finished.Snapshot(), {});
  CHECK(html.find("worker-1-h-7078") != std::string::npos);
  CHECK(html.find("app-&quot;2") != std::string::npos);
  CHECK(html.find("Finished Executors (2)") != std::string::npos);
  CHECK(html.find("<td>EXITED</td><td>its application ended (exit code 0)</td>") !=
        std::string::npos);
  CHECK(html.find("killed &lt;by&gt; signal 9") != std::string::npos);
}

TEST_CASE("the worker's /json and page list its drivers", "[worker][ui]") {
  WorkerInfo info{
      .id = "worker-1-h-7078", .host = "h", .port = 7078, .cores = 8, .memory_mb = 4096};
  std::vector<ExecutorView> executors{
      {.spec = {.app_id = "app-1", .executor_id = 0, .cores = 2, .memory_mb = 1024},
       .running = true,
       .pid = 42}};
  DriverSnapshot drivers;
  drivers.active.push_back({.driver_id = "driver-20240101000000-0001",
                            .attempt = 1,
                            .name = "word <count>",
                            .cores = 1,
                            .memory_mb = 512,
                            .state = "RUNNING",
                            .pid = 77,
                            .start_unix_ms = 1'700'000'000'000});
  drivers.finished.push_back({.driver_id = "driver-20240101000000-0000",
                              .name = "pi",
                              .cores = 2,
                              .memory_mb = 1024,
                              .state = "FAILED",
                              .exit_code = 3,
                              .message = "exited with code 3; last line of its stderr: <boom>"});
  auto json = nlohmann::json::parse(WorkerJson(info, executors, {}, drivers));
  // A driver's resources count as used, as in Spark.
  CHECK(json["coresused"] == 3);
  CHECK(json["memoryused"] == 1536);
  REQUIRE(json["drivers"].size() == 1);
  CHECK(json["drivers"][0] == nlohmann::json{{"id", "driver-20240101000000-0001"},
                                             {"name", "word <count>"},
                                             {"attempt", 1},
                                             {"cores", 1},
                                             {"memory", 512},
                                             {"state", "RUNNING"},
                                             {"starttime", 1'700'000'000'000},
                                             {"pid", 77}});
  REQUIRE(json["finisheddrivers"].size() == 1);
  CHECK(json["finisheddrivers"][0]["state"] == "FAILED");
  CHECK(json["finisheddrivers"][0]["exitcode"] == 3);
  CHECK(json["finisheddrivers"][0]["starttime"] == 0);
  CHECK(json["finisheddrivers"][0]["message"] ==
        "exited with code 3; last line of its stderr: <boom>");

  const std::string html = WorkerHtml(info, executors, {}, drivers);
  CHECK(html.find("<td>driver-20240101000000-0001</td><td>word &lt;count&gt;</td><td>1</td>") !=
        std::string::npos);
  CHECK(html.find("Finished Drivers (1)") != std::string::npos);
  CHECK(html.find("<td>FAILED</td><td>exited with code 3; last line of its stderr: "
                  "&lt;boom&gt;</td>") != std::string::npos);
  CHECK(html.find("Cores: 8 (3 used)") != std::string::npos);
}

TEST_CASE("the worker keeps the last 1000 finished executors", "[worker][ui]") {
  FinishedExecutors finished;
  proto::ExecutorStateChangedRequest r;
  for (int i = 0; i < 1005; ++i) {
    r.set_executor_id(i);
    finished.Add(r);
  }
  FinishedReports kept = finished.Snapshot();
  REQUIRE(kept.size() == FinishedExecutors::kRetained);
  CHECK(kept.front().executor_id() == 5);
  CHECK(kept.back().executor_id() == 1004);
}

TEST_CASE("the tail of an executor's stderr", "[worker][ui]") {
  test::TempDir dir;
  REQUIRE_OK(WriteFileAtomic(dir.Sub("err"), "one\ntwo\nthree\nfour\n"));
  CHECK(TailOfFile(dir.Sub("err"), 2) == "three\nfour");
  CHECK(TailOfFile(dir.Sub("err"), 10) == "one\ntwo\nthree\nfour");
  CHECK(TailOfFile(dir.Sub("missing"), 3).empty());
  std::string big(10000, 'x');
  REQUIRE_OK(WriteFileAtomic(dir.Sub("big"), big + "\nlast line"));
  CHECK(TailOfFile(dir.Sub("big"), 5) == "last line");
}

}  // namespace
}  // namespace kiln::worker
