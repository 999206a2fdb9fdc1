// The worker's /json and HTML page, and the stderr tail in failure reports.

#include "worker/worker_ui.h"

#include "common/files.h"
#include "nlohmann/json.hpp"
#include "tests/kiln_catch.h"
#include "tests/support/test_util.h"
#include "worker/executor_supervisor.h"

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
  auto json = nlohmann::json::parse(WorkerJson(info, executors));
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

  auto empty = nlohmann::json::parse(WorkerJson(info, {}));
  CHECK(empty["executors"].empty());
  CHECK(empty["coresused"] == 0);

  std::string html = WorkerHtml(info, executors);
  CHECK(html.find("worker-1-h-7078") != std::string::npos);
  CHECK(html.find("app-&quot;2") != std::string::npos);
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
