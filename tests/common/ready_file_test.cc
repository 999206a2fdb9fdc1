// Ready files (common/ready_file.h): what daemons write once they listen.
#include "common/ready_file.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "tests/kiln_catch.h"
#include "tests/support/test_util.h"

namespace kiln {
namespace {

using test::Message;

TEST_CASE("ready file: round trip", "[ready_file]") {
  test::TempDir dir;
  std::string path = dir.Sub("ready");
  std::map<std::string, int> values{{"grpc_port", 7077}, {"ui_port", 8080}, {"pid", 12345}};
  REQUIRE(WriteReadyFile(path, values).ok());
  absl::StatusOr<std::map<std::string, int>> back = ReadReadyFile(path);
  REQUIRE(back.ok());
  CHECK(*back == values);
  // Written aside and renamed: no temporary file is left behind.
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    names.push_back(entry.path().filename().string());
  }
  CHECK(names == std::vector<std::string>{"ready"});

  // Rewriting replaces the whole content.
  REQUIRE(WriteReadyFile(path, {{"grpc_port", 1}}).ok());
  CHECK(ReadReadyFile(path).value() == std::map<std::string, int>{{"grpc_port", 1}});
}

TEST_CASE("ready file: an empty map round trips", "[ready_file]") {
  test::TempDir dir;
  REQUIRE(WriteReadyFile(dir.Sub("r"), {}).ok());
  CHECK(ReadReadyFile(dir.Sub("r")).value().empty());
}

TEST_CASE("ready file: errors name the path", "[ready_file]") {
  test::TempDir dir;
  std::string missing = dir.Sub("missing");
  absl::StatusOr<std::map<std::string, int>> r = ReadReadyFile(missing);
  REQUIRE_FALSE(r.ok());
  CHECK(Message(r.status()).find(missing) != std::string::npos);

  std::string bad = dir.Sub("bad");
  std::ofstream(bad) << "grpc_port=12\nui_port=abc\n";
  r = ReadReadyFile(bad);
  REQUIRE_FALSE(r.ok());
  CHECK(Message(r.status()).find(bad) != std::string::npos);
  CHECK(Message(r.status()).find("ui_port=abc") != std::string::npos);

  absl::Status w = WriteReadyFile(dir.Sub("no/such/dir/ready"), {{"pid", 1}});
  REQUIRE_FALSE(w.ok());
  CHECK(Message(w).find("no/such/dir/ready") != std::string::npos);
}

}  // namespace
}  // namespace kiln
