// The driver's application UI in a real browser: headless Chromium (Debian's `chromium`,
// installed by deploy/install-deps.sh --checks) renders every page, the DOM it builds holds
// each page's content and links, and screenshots of the jobs and stage pages are saved as
// test artifacts in <build>/test-artifacts/ui/.

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "common/files.h"
#include "common/strings.h"
#include "driver/kiln.h"
#include "tests/kiln_catch.h"
#include "tests/support/crawl.h"
#include "tests/support/run_command.h"
#include "tests/support/test_util.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;
using test::CommandResult;
using test::RunCommand;

std::vector<std::string> Chromium(std::vector<std::string> args) {
  std::vector<std::string> argv = {
      "chromium",       "--headless",        "--no-sandbox",           "--disable-gpu",
      "--no-first-run", "--hide-scrollbars", "--window-size=1400,1000"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// The DOM Chromium built from `url`.
std::string Dom(const std::string& url) {
  CommandResult r = RunCommand(Chromium({"--dump-dom", url}), std::chrono::seconds(60));
  INFO(r.ToString());
  REQUIRE(r.exit_code == 0);
  return r.out;
}

void Screenshot(const std::string& url, const std::string& png) {
  CommandResult r = RunCommand(Chromium({"--screenshot=" + png, url}), std::chrono::seconds(60));
  INFO(r.ToString());
  REQUIRE(r.exit_code == 0);
  absl::StatusOr<std::string> bytes = ReadFile(png);
  REQUIRE_OK(bytes);
  CHECK(bytes->starts_with("\x89PNG\r\n\x1a\n"));
  CHECK(bytes->size() > 20'000);  // a rendered page, not a blank one
}

TEST_CASE("browser: headless Chromium renders every page of the application UI",
          "[local][ui][browser]") {
  const bool have_chromium =
      RunCommand({"chromium", "--version"}, std::chrono::seconds(30)).exit_code == 0;
  INFO("chromium is missing: deploy/install-deps.sh --checks installs it");
  REQUIRE(have_chromium);
  Context ctx(ContextOptions{.master = "local[2]",
                             .app_name = "browser-test",
                             .conf = {"kiln.ui.showConsoleProgress=false", "kiln.ui.port=0"},
                             .exit_on_failure = false});
  std::vector<std::pair<std::string, int64_t>> pairs;
  for (int64_t i = 0; i < 20'000; ++i) pairs.emplace_back("key-" + std::to_string(i % 300), i);
  auto sums = ctx.parallelize(pairs, 6)
                  .reduce_by_key([](int64_t a, int64_t b) { return a + b; }, 4)
                  .cache();
  CHECK(sums.count() == 300);
  CHECK(sums.sort_by_key().take(3).size() == 3);
  const std::string ui = ctx.ui_url();

  const std::set<std::string> seen = test::CrawlLinks("/jobs", [&](const std::string& path) {
    const std::string dom = Dom(ui + path);
    INFO(path << ":\n" << dom.substr(0, 2000));
    CHECK(dom.find("<h1>") != std::string::npos);
    CHECK(dom.find("browser-test") != std::string::npos);
    CHECK(dom.find("no such page") == std::string::npos);
    return dom;
  });
  for (const char* page :
       {"/jobs", "/stages", "/storage", "/executors", "/environment", "/doctor", "/stages/1/0"}) {
    CHECK(seen.contains(page));
  }

  const std::string artifacts = std::string(KILN_BIN_DIR) + "/../test-artifacts/ui";
  fs::create_directories(artifacts);
  Screenshot(ui + "/jobs", artifacts + "/jobs.png");
  Screenshot(ui + "/stages/1/0", artifacts + "/stage.png");
}

}  // namespace
}  // namespace kiln
