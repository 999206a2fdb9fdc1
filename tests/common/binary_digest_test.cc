// Application binaries' digests remembered between runs (common/binary_digest.h): read
// back while the file is the same, hashed again once it changed, never wrong when the
// cache is missing, corrupt or cannot be written.

#include "common/binary_digest.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/files.h"
#include "tests/kiln_catch.h"
#include "tests/support/test_util.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

constexpr char kHelloSha256[] = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";
// Tests change times only as far as they can: the modification time, not the change
// time, which the kernel sets. They keep digests of files changed just now.
constexpr absl::Duration kNow = absl::ZeroDuration();
constexpr char kWorldSha256[] = "e258d248fda94c63753607f7c4494ee0fcbe92f1a76bfdac795c9d84101eb317";

// Writes `content` to `path`, last modified `age` ago (a binary built a while back).
void WriteAged(const std::string& path, const std::string& content, std::chrono::seconds age) {
  std::ofstream(path, std::ios::trunc) << content;
  fs::last_write_time(path, fs::file_time_type::clock::now() - age);
}

// The one entry file the cache dir holds.
std::string OnlyEntry(const std::string& dir) {
  std::vector<std::string> entries;
  for (const auto& e : fs::directory_iterator(dir)) entries.push_back(e.path().string());
  REQUIRE(entries.size() == 1);
  return entries[0];
}

TEST_CASE("binary digest: remembered while the file is the same, hashed again once it changed",
          "[files]") {
  test::TempDir dir;
  const std::string binary = dir.Sub("app");
  const std::string cache = dir.Sub("cache/kiln/digests");
  WriteAged(binary, "hello\n", std::chrono::seconds(60));
  absl::StatusOr<std::string> first = CachedSha256File(binary, cache, kNow);
  REQUIRE(first.ok());
  CHECK(*first == kHelloSha256);
  // The entry is what the next run reads: put another digest in it, and it comes back.
  const std::string entry = OnlyEntry(cache);
  std::string text = *ReadFile(entry);
  REQUIRE(text.find(kHelloSha256) != std::string::npos);
  text.replace(text.find(kHelloSha256), 64, std::string(64, 'a'));
  REQUIRE(WriteFileAtomic(entry, text).ok());
  CHECK(*CachedSha256File(binary, cache, kNow) == std::string(64, 'a'));

  // Rebuilt, same size: its times changed, so it is hashed again and the entry replaced.
  WriteAged(binary, "world\n", std::chrono::seconds(30));
  CHECK(*CachedSha256File(binary, cache, kNow) == kWorldSha256);
  CHECK(ReadFile(OnlyEntry(cache))->find(kWorldSha256) != std::string::npos);
}

TEST_CASE("binary digest: a file written in the last seconds is hashed but not remembered",
          "[files]") {
  test::TempDir dir;
  const std::string binary = dir.Sub("app");
  std::ofstream(binary) << "hello\n";
  CHECK(*CachedSha256File(binary, dir.Sub("cache")) == kHelloSha256);
  CHECK_FALSE(fs::exists(dir.Sub("cache")));
}

TEST_CASE(
    "binary digest: a corrupt entry, no cache or one that cannot be made still give the "
    "file's digest",
    "[files]") {
  test::TempDir dir;
  const std::string binary = dir.Sub("app");
  WriteAged(binary, "hello\n", std::chrono::seconds(60));
  const std::string cache = dir.Sub("cache");
  REQUIRE(CachedSha256File(binary, cache, kNow).ok());
  REQUIRE(WriteFileAtomic(OnlyEntry(cache), "kiln binary digest 1\ngarbage").ok());
  CHECK(*CachedSha256File(binary, cache, kNow) == kHelloSha256);
  CHECK(ReadFile(OnlyEntry(cache))->find(kHelloSha256) != std::string::npos);  // rewritten

  CHECK(*CachedSha256File(binary, "", kNow) == kHelloSha256);
  // Under a regular file: the directory cannot be made.
  CHECK(*CachedSha256File(binary, binary + "/cache", kNow) == kHelloSha256);
  CHECK_FALSE(CachedSha256File(dir.Sub("missing"), cache).ok());
}

}  // namespace
}  // namespace kiln
