// GET /logs/... of a worker (worker/worker_logs.h): the executors' and drivers' stdout
// and stderr, and nothing else of the work dir.

#include "worker/worker_logs.h"

#include <unistd.h>

#include <string>

#include "common/files.h"
#include "tests/kiln_catch.h"
#include "tests/support/test_util.h"

namespace kiln::worker {
namespace {

void Put(const std::string& path, const std::string& text) {
  REQUIRE_OK(MakeDirs(path.substr(0, path.rfind('/'))));
  REQUIRE_OK(WriteFileAtomic(path, text));
}

TEST_CASE("worker logs: executors' and drivers' stdout and stderr, nothing else",
          "[worker][logs]") {
  test::TempDir dir;
  const std::string work = dir.path();
  Put(work + "/app-20260101000000-0001/executor-3/stderr", "executor says\n");
  Put(work + "/driver-20260101000000-0002/stdout", "driver result\n");
  Put(work + "/driver-20260101000000-0002/stderr.0", "first run\n");
  Put(work + "/app-20260101000000-0001/shuffle-0/secret", "not a log\n");
  Put(work + "/binaries/x", "binary\n");
  REQUIRE(symlink((work + "/binaries/x").c_str(),
                  (work + "/driver-20260101000000-0002/stderr").c_str()) == 0);

  HttpResponse executor = ServeLog(work, "app-20260101000000-0001/executor-3/stderr");
  CHECK(executor.status == 200);
  CHECK(executor.body == "executor says\n");
  CHECK(ServeLog(work, "driver-20260101000000-0002/stdout").body == "driver result\n");
  CHECK(ServeLog(work, "driver-20260101000000-0002/stderr.0").body == "first run\n");

  for (const char* bad :
       {"app-20260101000000-0001/shuffle-0/secret", "app-20260101000000-0001/executor-3/../x",
        "../app-20260101000000-0001/executor-3/stderr", "binaries/x",
        "driver-20260101000000-0002/stderr",  // a symbolic link
        "driver-20260101000000-0002/stdout.x", "driver-..%2f/stdout", "driver-../stdout",
        "app-20260101000000-0001/executor-/stderr", "app-20260101000000-0001/executor-3",
        "driver-20260101000000-0002/missing", "driver-20260101000000-0009/stdout", ""}) {
    INFO(bad);
    HttpResponse r = ServeLog(work, bad);
    CHECK(r.status == 404);
    CHECK(r.body == "no such log\n");
  }
}

TEST_CASE("worker logs: a long log is served from its end", "[worker][logs]") {
  test::TempDir dir;
  std::string text(kMaxLogBytes + 10, 'a');
  text.replace(text.size() - 4, 4, "end\n");
  Put(dir.path() + "/driver-1/stderr", text);
  HttpResponse r = ServeLog(dir.path(), "driver-1/stderr");
  CHECK(r.status == 200);
  CHECK(r.body.starts_with("(the first 10 bytes are left out)\n"));
  CHECK(r.body.ends_with("aend\n"));
  CHECK(r.body.size() == kMaxLogBytes + 34);
}

TEST_CASE("worker logs: the page links to them", "[worker][logs]") {
  CHECK(ExecutorLogLinks("app-1", 2) ==
        "<a href=\"/logs/app-1/executor-2/stdout\">stdout</a> "
        "<a href=\"/logs/app-1/executor-2/stderr\">stderr</a>");
  CHECK(
      DriverLogLinks("driver-1") ==
      "<a href=\"/logs/driver-1/stdout\">stdout</a> <a href=\"/logs/driver-1/stderr\">stderr</a>");
}

}  // namespace
}  // namespace kiln::worker
