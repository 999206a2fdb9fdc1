// kiln-history's server over a directory of event logs written by real local-mode
// applications: it lists them, serves each one's pages (every link resolves) and the REST
// API over all of them, reads a log cut short by a crash, names a file that is not a log,
// and picks up a log that appears later.

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "common/files.h"
#include "common/http_client.h"
#include "driver/history_server.h"
#include "driver/kiln.h"
#include "nlohmann/json.hpp"
#include "tests/kiln_catch.h"
#include "tests/support/crawl.h"
#include "tests/support/test_util.h"

namespace kiln::internal {
namespace {

using test::TempDir;

// Runs a local application that logs its events to `dir`; returns its id.
std::string RunLoggedApp(const std::string& dir, const std::string& name) {
  Context ctx(ContextOptions{.master = "local[2]",
                             .app_name = name,
                             .conf = {"kiln.ui.showConsoleProgress=false", "kiln.ui.enabled=false",
                                      "kiln.eventLog.enabled=true", "kiln.eventLog.dir=" + dir},
                             .exit_on_failure = false});
  std::vector<std::pair<int64_t, int64_t>> pairs;
  for (int64_t i = 0; i < 2000; ++i) pairs.emplace_back(i % 10, i);
  CHECK(
      ctx.parallelize(pairs, 4).reduce_by_key([](int64_t a, int64_t b) { return a + b; }).count() ==
      10);
  return ctx.app_id();
}

std::string Get(int port, const std::string& path) {
  absl::StatusOr<std::string> body = HttpGet("127.0.0.1", port, path);
  INFO(path);
  REQUIRE_OK(body);
  return *body;
}

TEST_CASE("history: lists the logged applications and serves their UI and REST API",
          "[local][history]") {
  TempDir dir("kiln-history-");
  const std::string logs = dir.Sub("events");
  const std::string first = RunLoggedApp(logs, "first");
  // A crash leaves a log that ends mid-line and was never renamed.
  const std::string crashed = RunLoggedApp(logs, "crashed");
  absl::StatusOr<std::string> text = ReadFile(logs + "/" + crashed);
  REQUIRE_OK(text);
  const size_t cut = text->find("\"Event\":\"JobEnd\"");
  REQUIRE(cut != std::string::npos);
  REQUIRE_OK(WriteFileAtomic(logs + "/" + crashed + ".inprogress", text->substr(0, cut)));
  std::filesystem::remove(logs + "/" + crashed);
  REQUIRE_OK(WriteFileAtomic(logs + "/notes.txt", "not a log\n"));

  HistoryServer server(logs, std::chrono::milliseconds(0));
  absl::StatusOr<int> port = server.Start("127.0.0.1", 0);
  REQUIRE_OK(port);
  const std::string list = Get(*port, "/");
  CHECK(list.find("/history/" + first + "/jobs") != std::string::npos);
  CHECK(list.find("/history/" + crashed + "/jobs") != std::string::npos);
  CHECK(list.find("not ended (running, or cut short)") != std::string::npos);
  CHECK(list.find("notes.txt") != std::string::npos);  // listed with why it is no log

  // A log that appears later is found at the next request.
  const std::string second = RunLoggedApp(logs, "second");
  CHECK(Get(*port, "/").find("/history/" + second + "/jobs") != std::string::npos);

  // Every link of every page resolves.
  const std::set<std::string> seen =
      test::CrawlLinks("/", [&](const std::string& path) { return Get(*port, path); });
  for (const std::string& app : {first, second}) {
    for (const char* page :
         {"/jobs", "/jobs/0", "/stages", "/stages/1/0", "/executors", "/doctor"}) {
      CHECK(seen.contains("/history/" + app + page));
    }
  }
  CHECK(Get(*port, "/history/" + second + "/environment").find("second") != std::string::npos);

  using Json = nlohmann::json;
  const Json apps = Json::parse(Get(*port, "/api/v1/applications"));
  REQUIRE(apps.size() == 3);
  CHECK(apps[0]["id"] == second);  // newest first
  std::set<std::string> ids;
  for (const Json& a : apps) {
    ids.insert(a["id"].get<std::string>());
    CHECK(a["attempts"][0]["completed"] == (a["id"] != crashed));
  }
  CHECK(ids == std::set<std::string>{first, second, crashed});
  const Json jobs = Json::parse(Get(*port, "/api/v1/applications/" + first + "/jobs"));
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0]["status"] == "SUCCEEDED");
  const Json tasks =
      Json::parse(Get(*port, "/api/v1/applications/" + first + "/stages/1/0/taskList"));
  CHECK(tasks.size() == 2);  // reduce_by_key's default: local[2]'s 2 partitions
  CHECK_FALSE(HttpGet("127.0.0.1", *port, "/api/v1/applications/app-none/jobs").ok());
  CHECK_FALSE(HttpGet("127.0.0.1", *port, "/history/notes.txt/jobs").ok());
}

TEST_CASE("history: a directory that cannot be listed is named", "[local][history]") {
  TempDir dir("kiln-history-");
  HistoryServer server(dir.Sub("missing"), std::chrono::milliseconds(0));
  absl::StatusOr<int> port = server.Start("127.0.0.1", 0);
  REQUIRE_FALSE(port.ok());
  CHECK(test::Message(port.status()) ==
        "cannot list " + dir.Sub("missing") + ": No such file or directory");
}

}  // namespace
}  // namespace kiln::internal
