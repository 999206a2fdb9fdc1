// BinaryCache with a fake fetcher: digest check, caching, one fetch for many callers.

#include "worker/binary_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>
#include <vector>

#include "common/files.h"
#include "tests/kiln_catch.h"
#include "tests/support/test_util.h"

namespace kiln::worker {
namespace {

using test::TempDir;

// Writes `content` to a file and returns its digest.
std::string DigestOf(const TempDir& dir, const std::string& content) {
  const std::string path = dir.Sub("digest-input");
  REQUIRE_OK(WriteFileAtomic(path, content));
  auto digest = Sha256File(path);
  REQUIRE_OK(digest);
  return *digest;
}

TEST_CASE("a binary is fetched once, verified and made executable", "[worker][binaries]") {
  TempDir dir;
  const std::string content = "#!/bin/true\nbinary bytes";
  const std::string digest = DigestOf(dir, content);
  std::atomic<int> fetches{0};
  BinaryCache cache(dir.Sub("binaries"),
                    [&](const BinarySource& source, const std::string& d, const std::string& dest) {
                      ++fetches;
                      CHECK(source.driver_address == "127.0.0.1:4000");
                      CHECK(d == digest);
                      return WriteFileAtomic(dest, content);
                    });
  const BinarySource source{"127.0.0.1:4000", "app-1"};

  std::vector<std::thread> threads;
  std::vector<absl::StatusOr<std::string>> results(4, absl::UnknownError("not run"));
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] { results[i] = cache.Get(source, digest); });
  }
  for (std::thread& t : threads) t.join();
  for (const auto& r : results) {
    REQUIRE_OK(r);
    CHECK(*r == dir.Sub("binaries") + "/" + digest);
  }
  CHECK(fetches == 1);
  struct stat st;
  REQUIRE(stat(results[0]->c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0755);
  auto bytes = ReadFile(*results[0]);
  REQUIRE_OK(bytes);
  CHECK(*bytes == content);

  // A new cache over the same dir (a restarted worker) trusts the installed file.
  BinaryCache again(dir.Sub("binaries"),
                    [&](const BinarySource&, const std::string&, const std::string&) {
                      ++fetches;
                      return absl::InternalError("must not fetch");
                    });
  REQUIRE_OK(again.Get(source, digest));
  CHECK(fetches == 1);
}

TEST_CASE("a binary with the wrong digest is refused and not kept", "[worker][binaries]") {
  TempDir dir;
  const std::string digest = DigestOf(dir, "the real bytes");
  int fetches = 0;
  BinaryCache cache(dir.Sub("binaries"),
                    [&](const BinarySource&, const std::string&, const std::string& dest) {
                      ++fetches;
                      return WriteFileAtomic(dest, "other bytes");
                    });
  auto path = cache.Get({"127.0.0.1:4000", "app-1"}, digest);
  REQUIRE_FALSE(path.ok());
  CHECK(absl::IsDataLoss(path.status()));
  CHECK(std::string(path.status().message()).find(digest) != std::string::npos);
  CHECK(access((dir.Sub("binaries") + "/" + digest).c_str(), F_OK) != 0);
  // Not cached as a failure: the next launch tries again.
  CHECK_FALSE(cache.Get({"127.0.0.1:4000", "app-1"}, digest).ok());
  CHECK(fetches == 2);
}

TEST_CASE("fetch errors reach the caller with the digest", "[worker][binaries]") {
  TempDir dir;
  const std::string digest(64, 'a');
  BinaryCache cache(dir.Sub("binaries"),
                    [](const BinarySource&, const std::string&, const std::string&) {
                      return absl::UnavailableError("driver 127.0.0.1:4000 unreachable");
                    });
  auto path = cache.Get({"127.0.0.1:4000", "app-1"}, digest);
  REQUIRE_FALSE(path.ok());
  CHECK(absl::IsUnavailable(path.status()));
  CHECK(std::string(path.status().message()).find("unreachable") != std::string::npos);
}

// Appends `bytes` to `path`.
void Append(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << bytes;
  REQUIRE(out.good());
}

int64_t SizeOrZero(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_size : 0;
}

TEST_CASE("a download cut short is resumed by the next fetch", "[worker][binaries]") {
  TempDir dir;
  const std::string content = std::string(1000, 'x') + "end";
  const std::string digest = DigestOf(dir, content);
  const std::string partial = dir.Sub("binaries") + "/" + digest + ".partial";
  std::vector<int64_t> found;  // the bytes each fetch found already there
  BinaryCache cache(dir.Sub("binaries"),
                    [&](const BinarySource&, const std::string&, const std::string& dest) {
                      CHECK(dest == partial);
                      found.push_back(SizeOrZero(dest));
                      if (found.size() == 1) {
                        Append(dest, content.substr(0, 600));
                        return absl::CancelledError("its application ended");
                      }
                      Append(dest, content.substr(static_cast<size_t>(found.back())));
                      return absl::OkStatus();
                    });
  const BinarySource source{"127.0.0.1:4000", "app-1"};
  CHECK(absl::IsCancelled(cache.Get(source, digest).status()));
  CHECK(SizeOrZero(partial) == 600);
  auto path = cache.Get(source, digest);
  REQUIRE_OK(path);
  CHECK(*ReadFile(*path) == content);
  CHECK(found == std::vector<int64_t>{0, 600});
  CHECK(access(partial.c_str(), F_OK) != 0);
}

TEST_CASE("a download that does not verify or fails for good is not resumed",
          "[worker][binaries]") {
  TempDir dir;
  const std::string content = std::string(1000, 'y');
  const std::string digest = DigestOf(dir, content);
  const std::string partial = dir.Sub("binaries") + "/" + digest + ".partial";
  std::vector<int64_t> found;
  absl::Status next = absl::CancelledError("its application ended");
  BinaryCache cache(dir.Sub("binaries"),
                    [&](const BinarySource&, const std::string&, const std::string& dest) {
                      found.push_back(SizeOrZero(dest));
                      if (found.size() == 1) {
                        Append(dest, std::string(600, 'z'));  // not the binary's bytes
                        return next;
                      }
                      Append(dest, content.substr(static_cast<size_t>(found.back())));
                      return absl::OkStatus();
                    });
  const BinarySource source{"127.0.0.1:4000", "app-1"};
  SECTION("a resumed download with the wrong bytes is dropped, then fetched whole") {
    CHECK_FALSE(cache.Get(source, digest).ok());
    CHECK(absl::IsDataLoss(cache.Get(source, digest).status()));
    CHECK(access(partial.c_str(), F_OK) != 0);
    REQUIRE_OK(cache.Get(source, digest));
    CHECK(found == std::vector<int64_t>{0, 600, 0});
  }
  SECTION("an error that is not a cut-short stream drops what was written") {
    next = absl::ResourceExhaustedError("the driver sent more than it declared");
    CHECK(absl::IsResourceExhausted(cache.Get(source, digest).status()));
    CHECK(access(partial.c_str(), F_OK) != 0);
  }
}

TEST_CASE("digests must be 64 lowercase hex characters", "[worker][binaries]") {
  TempDir dir;
  BinaryCache cache(dir.Sub("binaries"), [](const BinarySource&, const std::string&,
                                            const std::string&) { return absl::OkStatus(); });
  for (const std::string& bad : {std::string(""), std::string(63, 'a'), std::string(64, 'A'),
                                 std::string("../") + std::string(61, 'a')}) {
    CHECK(absl::IsInvalidArgument(cache.Get({"h:1", "app"}, bad).status()));
  }
  CHECK(BinaryCache::IsValidDigest(std::string(64, 'f')));
}

TEST_CASE("the cache removes the least recently used binaries past its bound",
          "[worker][binaries]") {
  TempDir dir;
  std::vector<std::string> contents, digests;
  for (int i = 0; i < 4; ++i) {
    contents.push_back(std::string(1000, static_cast<char>('a' + i)));
    digests.push_back(DigestOf(dir, contents.back()));
  }
  auto fetch_from = [&](const BinarySource&, const std::string& d, const std::string& dest) {
    for (size_t i = 0; i < digests.size(); ++i) {
      if (digests[i] == d) return WriteFileAtomic(dest, contents[i]);
    }
    return absl::NotFoundError(d);
  };
  const BinarySource source{"127.0.0.1:4000", "app-1"};
  const std::string bin = dir.Sub("binaries") + "/";
  auto present = [&](int i) { return access((bin + digests[i]).c_str(), F_OK) == 0; };
  {
    // Room for two; nothing counts as in use.
    BinaryCache cache(dir.Sub("binaries"), fetch_from,
                      {.max_bytes = 2500, .in_use_for = std::chrono::seconds(0)});
    REQUIRE_OK(cache.Get(source, digests[0]));
    REQUIRE_OK(cache.Get(source, digests[1]));
    // File times have a coarse grain on some file systems: make the order explicit.
    struct timespec older[2] = {{1000, 0}, {1000, 0}};
    utimensat(AT_FDCWD, (bin + digests[0]).c_str(), older, 0);
    REQUIRE_OK(cache.Get(source, digests[0]));  // used again: 1 is now the oldest
    struct timespec oldest[2] = {{500, 0}, {500, 0}};
    utimensat(AT_FDCWD, (bin + digests[1]).c_str(), oldest, 0);
    // A download cut short long ago counts too, and goes first.
    const std::string stale = bin + digests[3] + ".partial";
    Append(stale, std::string(700, 'd'));
    struct timespec ancient[2] = {{100, 0}, {100, 0}};
    utimensat(AT_FDCWD, stale.c_str(), ancient, 0);
    REQUIRE_OK(cache.Get(source, digests[2]));  // a fetch: prunes to two
    CHECK(present(0));
    CHECK_FALSE(present(1));
    CHECK(present(2));
    CHECK(access(stale.c_str(), F_OK) != 0);
  }
  {
    // Binaries handed out within the in-use window stay, even past the bound.
    BinaryCache cache(dir.Sub("binaries"), fetch_from,
                      {.max_bytes = 1500, .in_use_for = std::chrono::hours(1)});
    REQUIRE_OK(cache.Get(source, digests[0]));
    REQUIRE_OK(cache.Get(source, digests[3]));
    CHECK(present(0));
    CHECK(present(3));
    CHECK_FALSE(present(2));  // not handed out by this cache: removed
  }
}

}  // namespace
}  // namespace kiln::worker
