// Owned scratch dirs (common/files.h): which dirs a sweep removes, and which it leaves.

#include "common/files.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/kiln_catch.h"
#include "tests/support/test_util.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

// DIR/NAME (a dir), with the lock file `lock` ("" = none), written `age` ago.
std::string MakeDir(const test::TempDir& parent, const std::string& name, const std::string& lock,
                    std::chrono::seconds age) {
  const std::string dir = parent.Sub(name);
  fs::create_directory(dir);
  if (!lock.empty()) std::ofstream(dir + "/" + lock) << "";
  const auto then = fs::file_time_type::clock::now() - age;
  if (!lock.empty()) fs::last_write_time(dir + "/" + lock, then);
  fs::last_write_time(dir, then);
  return dir;
}

TEST_CASE("files: a sweep removes the dirs whose owner is gone, and only those", "[files]") {
  using std::chrono::seconds;
  test::TempDir parent;
  const std::string live = parent.Sub("kiln-local-live");
  fs::create_directory(live);
  absl::StatusOr<ScopedFd> owner = LockOwnedDir(live);
  REQUIRE(owner.ok());
  MakeDir(parent, "kiln-local-dead", ".owner", seconds(0));              // its owner died
  MakeDir(parent, "kiln-local-taking", ".owner.new", seconds(0));        // being locked now
  MakeDir(parent, "kiln-local-died-taking", ".owner.new", seconds(10));  // died locking
  MakeDir(parent, "kiln-local-new", "", seconds(0));                     // just made
  MakeDir(parent, "kiln-local-died-new", "", seconds(120));              // died after mkdir
  MakeDir(parent, "other-dead", ".owner", seconds(0));                   // not ours

  CHECK(RemoveAbandonedDirs(parent.path(), "kiln-local-") == 3);
  CHECK(fs::exists(live));
  CHECK(fs::exists(live + "/.owner"));
  CHECK_FALSE(fs::exists(parent.Sub("kiln-local-dead")));
  CHECK(fs::exists(parent.Sub("kiln-local-taking")));
  CHECK_FALSE(fs::exists(parent.Sub("kiln-local-died-taking")));
  CHECK(fs::exists(parent.Sub("kiln-local-new")));
  CHECK_FALSE(fs::exists(parent.Sub("kiln-local-died-new")));
  CHECK(fs::exists(parent.Sub("other-dead")));
}

TEST_CASE("files: IsAppId accepts the master's ids only", "[files]") {
  for (const char* id : {"app-20240101120000-0007", "app-1", "app-1-2-3"}) {
    INFO(id);
    CHECK(IsAppId(id));
  }
  for (const char* id : {"", "app-", "app-x", "app-1-", "app--1", "app-1/..", "binaries", "..",
                         "APP-1", "app-1 ", "app-1\n"}) {
    INFO(id);
    CHECK_FALSE(IsAppId(id));
  }
  CHECK(IsAppId("app-" + std::string(60, '1')));
  CHECK_FALSE(IsAppId("app-" + std::string(61, '1')));  // 65 characters
}

}  // namespace
}  // namespace kiln
