// The driver's application UI, REST API and /metrics, on a local-mode application that
// caches a dataset and shuffles: every page answers, every link on every page resolves,
// the REST API answers in Spark's shapes with this application's figures, and the port
// moves up when kiln.ui.port is taken.

#include <poll.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/strings.h"
#include "common/wait.h"
#include "driver/kiln.h"
#include "nlohmann/json.hpp"
#include "tests/kiln_catch.h"
#include "tests/support/crawl.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/test_util.h"

namespace kiln {
namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

struct Ui {
  std::string host;
  int port = 0;
};

Ui ParseUrl(const std::string& url) {
  const std::string rest = url.substr(std::string("http://").size());
  const size_t colon = rest.rfind(':');
  return Ui{rest.substr(0, colon), std::stoi(rest.substr(colon + 1))};
}

std::string Get(const Ui& ui, const std::string& path) {
  absl::StatusOr<std::string> body = HttpGet(ui.host, ui.port, path);
  INFO(path);
  REQUIRE_OK(body);
  return *body;
}

Json GetJson(const Ui& ui, const std::string& path) {
  Json j = Json::parse(Get(ui, path), nullptr, false);
  INFO(path);
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

Context UiApp(const std::vector<std::string>& extra = {}) {
  std::vector<std::string> conf = {"kiln.ui.showConsoleProgress=false", "kiln.ui.port=0"};
  conf.insert(conf.end(), extra.begin(), extra.end());
  return Context(ContextOptions{
      .master = "local[2]", .app_name = "ui-test", .conf = conf, .exit_on_failure = false});
}

TEST_CASE("ui: every page answers and every link on it resolves", "[local][ui]") {
  Context ctx = UiApp();
  std::vector<std::pair<std::string, int64_t>> pairs;
  for (int64_t i = 0; i < 5000; ++i) pairs.emplace_back("k" + std::to_string(i % 50), i);
  auto sums = ctx.parallelize(pairs, 4)
                  .reduce_by_key([](int64_t a, int64_t b) { return a + b; }, 3)
                  .cache();
  CHECK(sums.count() == 50);
  CHECK(sums.count() == 50);  // from the cache
  const Ui ui = ParseUrl(ctx.ui_url());
  CHECK(ui.host == "127.0.0.1");

  const std::set<std::string> seen = test::CrawlLinks("/", [&](const std::string& path) {
    const std::string page = Get(ui, path);
    INFO(path);
    CHECK(page.starts_with("<!DOCTYPE html>"));
    CHECK(page.find("<script") == std::string::npos);
    return page;
  });
  for (const char* page : {"/jobs", "/stages", "/storage", "/executors", "/environment", "/doctor",
                           "/jobs/0", "/jobs/1", "/stages/0/0", "/stages/1/0"}) {
    CHECK(seen.contains(page));
  }
  const std::string stage = Get(ui, "/stages/1/0");
  CHECK(stage.find("Summary of the 3 succeeded task(s)") != std::string::npos);
  CHECK(stage.find("75th percentile") != std::string::npos);
  CHECK(stage.find("<div class=\"tl\">") != std::string::npos);  // the timeline
  const std::string storage = Get(ui, "/storage");
  CHECK(storage.find("MEMORY_ONLY") != std::string::npos);
  CHECK(storage.find("3/3") != std::string::npos);
  CHECK_FALSE(HttpGet(ui.host, ui.port, "/stages/9/0").ok());  // 404
}

TEST_CASE("ui: the REST API answers in Spark's shapes", "[local][ui]") {
  Context ctx = UiApp({"kiln.authenticate.secretFile=/nonexistent/secret"});
  std::vector<int64_t> numbers(1000);
  for (size_t i = 0; i < numbers.size(); ++i) numbers[i] = static_cast<int64_t>(i);
  auto cached = ctx.parallelize(numbers, 4).map([](int64_t x) { return x * 2; }).cache();
  CHECK(cached.count() == 1000);
  const Ui ui = ParseUrl(ctx.ui_url());
  const std::string app = ctx.app_id();

  const Json apps = GetJson(ui, "/api/v1/applications");
  REQUIRE(apps.size() == 1);
  CHECK(apps[0]["id"] == app);
  CHECK(apps[0]["name"] == "ui-test");
  CHECK(apps[0]["attempts"][0]["completed"] == false);
  CHECK(apps[0]["attempts"][0]["startTime"].get<std::string>().ends_with("GMT"));

  const std::string base = "/api/v1/applications/" + app;
  const Json jobs = GetJson(ui, base + "/jobs");
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0]["jobId"] == 0);
  CHECK(jobs[0]["name"] == "count");
  CHECK(jobs[0]["status"] == "SUCCEEDED");
  CHECK(jobs[0]["numTasks"] == 4);
  CHECK(jobs[0]["numCompletedTasks"] == 4);
  CHECK(jobs[0]["stageIds"] == Json::array({0}));

  const Json stages = GetJson(ui, base + "/stages");
  REQUIRE(stages.size() == 1);
  CHECK(stages[0]["status"] == "COMPLETE");
  CHECK(stages[0]["numCompleteTasks"] == 4);
  CHECK(stages[0]["inputRecords"] == 1000);
  CHECK(stages[0]["inputBytes"].get<int64_t>() > 0);

  const Json tasks = GetJson(ui, base + "/stages/0/0/taskList");
  REQUIRE(tasks.size() == 4);
  int64_t records = 0;
  for (const Json& t : tasks) {
    CHECK(t["status"] == "SUCCESS");
    CHECK(t["executorId"] == "driver");
    CHECK(t["duration"].get<int64_t>() >= 0);
    records += t["taskMetrics"]["inputMetrics"]["recordsRead"].get<int64_t>();
  }
  CHECK(records == 1000);
  CHECK(GetJson(ui, base + "/stages/0/0")["tasks"].size() == 4);

  const Json executors = GetJson(ui, base + "/executors");
  REQUIRE(executors.size() == 1);
  CHECK(executors[0]["id"] == "driver");
  CHECK(executors[0]["totalCores"] == 2);
  CHECK(executors[0]["completedTasks"] == 4);
  CHECK(executors[0]["rddBlocks"] == 4);

  const Json rdds = GetJson(ui, base + "/storage/rdd");
  REQUIRE(rdds.size() == 1);
  CHECK(rdds[0]["name"] == "map");
  CHECK(rdds[0]["numPartitions"] == 4);
  CHECK(rdds[0]["numCachedPartitions"] == 4);
  CHECK(rdds[0]["storageLevel"] == "MEMORY_ONLY");
  CHECK(rdds[0]["memoryUsed"].get<int64_t>() > 0);

  const Json env = GetJson(ui, base + "/environment");
  bool named = false, redacted = false;
  for (const Json& kv : env["sparkProperties"]) {
    named = named || (kv[0] == "kiln.app.name" && kv[1] == "ui-test");
    redacted =
        redacted || (kv[0] == "kiln.authenticate.secretFile" && kv[1] == "*********(redacted)");
  }
  CHECK(named);
  CHECK(redacted);

  CHECK_FALSE(HttpGet(ui.host, ui.port, base + "/stages/7/0/taskList").ok());
  CHECK_FALSE(HttpGet(ui.host, ui.port, "/api/v1/applications/app-other/jobs").ok());

  absl::StatusOr<test::MetricSamples> metrics = test::ParseMetrics(Get(ui, "/metrics"));
  REQUIRE_OK(metrics);
  CHECK(metrics->at("kiln_driver_tasks_total{state=\"succeeded\"}") == 4);
  CHECK(metrics->at("kiln_driver_tasks_running") == 0);
  CHECK(metrics->at("kiln_driver_executor_cores") == 2);
  CHECK(metrics->at("kiln_driver_input_bytes_total") > 0);
  CHECK(metrics->at("kiln_driver_storage_bytes{where=\"memory\"}") > 0);
  CHECK(metrics->at(StrCat("kiln_driver_info{app_id=\"", app, "\",app_name=\"ui-test\"}")) == 1);
}

TEST_CASE("ui: a task still running shows as RUNNING in its stage and in /metrics", "[local][ui]") {
  // Partition 0's task blocks on a pipe until the test writes to it (local mode: the
  // tasks run in this process); the other three end at once.
  std::array<int, 2> gate{};
  REQUIRE(pipe(gate.data()) == 0);
  const int wait_fd = gate[0];  // lambdas ship trivially copyable captures only
  Context ctx = UiApp();
  const Ui ui = ParseUrl(ctx.ui_url());
  std::thread job([&] {
    const int64_t n = ctx.parallelize(std::vector<int64_t>{0, 1, 2, 3}, 4)
                          .map([wait_fd](int64_t x) {
                            pollfd readable{.fd = wait_fd, .events = POLLIN, .revents = 0};
                            if (x == 0) (void)poll(&readable, 1, /*timeout ms=*/60'000);
                            return x;
                          })
                          .count();
    CHECK(n == 4);
  });
  auto release = [&] {
    if (gate[1] >= 0) {
      (void)!write(gate[1], "1", 1);
      close(gate[1]);
      gate[1] = -1;
    }
    if (job.joinable()) job.join();
  };
  absl::Cleanup on_exit = [&] {  // also when a REQUIRE below fails
    release();
    close(gate[0]);
  };
  auto running = [&] {
    absl::StatusOr<test::MetricSamples> m = test::ParseMetrics(Get(ui, "/metrics"));
    return m.ok() && m->at("kiln_driver_tasks_running") == 1 &&
           m->at("kiln_driver_tasks_total{state=\"succeeded\"}") == 3;
  };
  const bool seen = WaitFor(running, 30s);
  CHECK(seen);
  if (seen) {
    const std::string base = StrCat("/api/v1/applications/", ctx.app_id());
    const Json stages = GetJson(ui, base + "/stages");
    REQUIRE(stages.size() == 1);
    CHECK(stages[0]["status"] == "ACTIVE");
    const Json tasks =
        GetJson(ui, StrCat(base, "/stages/", stages[0]["stageId"].get<int>(), "/0/taskList"));
    std::multiset<std::string> states;
    for (const Json& t : tasks) states.insert(t["status"].get<std::string>());
    CHECK(states == std::multiset<std::string>{"RUNNING", "SUCCESS", "SUCCESS", "SUCCESS"});
  }
  release();
  absl::StatusOr<test::MetricSamples> done = test::ParseMetrics(Get(ui, "/metrics"));
  REQUIRE_OK(done);
  CHECK(done->at("kiln_driver_tasks_running") == 0);
  CHECK(done->at("kiln_driver_tasks_total{state=\"succeeded\"}") == 4);
}

TEST_CASE("ui: a taken kiln.ui.port moves the UI to the next free one, and it can be turned off",
          "[local][ui]") {
  HttpServer squatter;
  absl::StatusOr<int> taken = squatter.Start("127.0.0.1", 0);
  REQUIRE_OK(taken);
  Context ctx = Context(
      ContextOptions{.master = "local[1]",
                     .app_name = "ui-port-test",
                     .conf = {"kiln.ui.showConsoleProgress=false", StrCat("kiln.ui.port=", *taken)},
                     .exit_on_failure = false});
  const Ui ui = ParseUrl(ctx.ui_url());
  CHECK(ui.port > *taken);
  CHECK(ui.port <= *taken + 16);
  CHECK(Get(ui, "/jobs").find("ui-port-test") != std::string::npos);
  Context off = UiApp({"kiln.ui.enabled=false"});
  CHECK(off.ui_url().empty());
}

TEST_CASE("ui: named accumulators show on the stage page and in the REST API",
          "[local][ui][accumulator]") {
  Context ctx = UiApp();
  LongAccumulator evens = ctx.long_accumulator("even numbers");
  LongAccumulator unnamed = ctx.long_accumulator();
  ctx.parallelize(std::vector<int64_t>{1, 2, 3, 4, 6}, 2).foreach ([evens, unnamed](int64_t x) {
    if (x % 2 == 0) evens.add(x);
    unnamed.add(1);
  });
  CHECK(evens.value() == 12);
  const Ui ui = ParseUrl(ctx.ui_url());
  const std::string stage = Get(ui, "/stages/0/0");
  CHECK(stage.find("<h2>Accumulators</h2>") != std::string::npos);
  CHECK(stage.find("<td>even numbers</td><td>12</td><td>12</td>") != std::string::npos);
  const Json stages = GetJson(ui, "/api/v1/applications/" + ctx.app_id() + "/stages");
  REQUIRE(stages.size() == 1);
  const Json& updates = stages[0]["accumulatorUpdates"];
  REQUIRE(updates.size() == 1);  // the unnamed one is not shown, as in Spark
  CHECK(updates[0]["name"] == "even numbers");
  CHECK(updates[0]["update"] == "12");
  CHECK(updates[0]["value"] == "12");
}

}  // namespace
}  // namespace kiln
