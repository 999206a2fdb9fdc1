// Unit tests of ShuffleBlockServer: real index + data files in a temp dir, no gRPC.

#include "worker/shuffle_block_server.h"

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "common/files.h"
#include "common/shuffle_files.h"
#include "tests/kiln_catch.h"
#include "tests/support/test_util.h"

namespace kiln::worker {
namespace {

using test::TempDir;

struct Received {
  int map_id;
  std::string data;
  bool last;
};

// Writes map output (shuffle, map) of `app` with the given blocks.
void WriteMapOutput(const std::string& work_dir, const std::string& app, int shuffle, int map,
                    const std::vector<std::string>& blocks) {
  const std::string app_dir = work_dir + "/" + app;
  REQUIRE_OK(MakeDirs(ShuffleDir(app_dir)));
  std::string data;
  std::vector<uint64_t> offsets{0};
  for (const std::string& b : blocks) {
    data += b;
    offsets.push_back(data.size());
  }
  REQUIRE_OK(WriteFileAtomic(ShuffleDataPath(app_dir, shuffle, map), data));
  REQUIRE_OK(WriteFileAtomic(ShuffleIndexPath(app_dir, shuffle, map), EncodeShuffleIndex(offsets)));
}

proto::FetchShuffleBlocksRequest Request(const std::string& app, int shuffle, int reduce,
                                         const std::vector<int>& maps) {
  proto::FetchShuffleBlocksRequest r;
  r.set_app_id(app);
  r.set_shuffle_id(shuffle);
  r.set_reduce_id(reduce);
  for (int m : maps) r.add_map_ids(m);
  return r;
}

// Every piece, in order: a chunk's own, then the whole blocks packed after it. `chunks`
// counts the chunks (messages).
absl::Status Serve(const ShuffleBlockServer& server, const proto::FetchShuffleBlocksRequest& r,
                   std::vector<Received>* out, int* chunks = nullptr) {
  return server.Serve(r, [out, chunks](const proto::ShuffleChunk& c) {
    if (chunks != nullptr) ++*chunks;
    out->push_back({c.map_id(), c.data(), c.last()});
    if (!c.last()) CHECK(c.blocks().empty());
    for (const proto::ShuffleBlock& b : c.blocks()) out->push_back({b.map_id(), b.data(), true});
    return absl::OkStatus();
  });
}

TEST_CASE("shuffle blocks are sent in chunks of at most the chunk size", "[worker][shuffle]") {
  TempDir dir;
  WriteMapOutput(dir.path(), "app-1", 3, 0, {"aaaa", std::string(10, 'b'), "cc"});
  WriteMapOutput(dir.path(), "app-1", 3, 1, {"", "0123456789", ""});
  ShuffleBlockServer server({.work_dir = dir.path(), .chunk_size = 4});

  std::vector<Received> got;
  REQUIRE_OK(Serve(server, Request("app-1", 3, 1, {1, 0}), &got));
  // Map 1 first (request order): 10 bytes as 4 + 4 + 2; then map 0 the same.
  REQUIRE(got.size() == 6);
  std::string map1, map0;
  for (size_t i = 0; i < 3; ++i) {
    CHECK(got[i].map_id == 1);
    CHECK(got[i].data.size() <= 4);
    CHECK(got[i].last == (i == 2));
    map1 += got[i].data;
  }
  for (size_t i = 3; i < 6; ++i) {
    CHECK(got[i].map_id == 0);
    CHECK(got[i].last == (i == 5));
    map0 += got[i].data;
  }
  CHECK(map1 == "0123456789");
  CHECK(map0 == std::string(10, 'b'));
}

TEST_CASE("a block of exactly the chunk size is one chunk", "[worker][shuffle]") {
  TempDir dir;
  WriteMapOutput(dir.path(), "app-1", 0, 0, {"abcd"});
  ShuffleBlockServer server({.work_dir = dir.path(), .chunk_size = 4});
  std::vector<Received> got;
  REQUIRE_OK(Serve(server, Request("app-1", 0, 0, {0}), &got));
  REQUIRE(got.size() == 1);
  CHECK(got[0].data == "abcd");
  CHECK(got[0].last);
}

TEST_CASE("an empty block is one empty chunk with last set", "[worker][shuffle]") {
  TempDir dir;
  WriteMapOutput(dir.path(), "app-1", 0, 7, {"", "x", ""});
  ShuffleBlockServer server({.work_dir = dir.path(), .chunk_size = 4});
  for (int reduce : {0, 2}) {
    std::vector<Received> got;
    REQUIRE_OK(Serve(server, Request("app-1", 0, reduce, {7}), &got));
    REQUIRE(got.size() == 1);
    CHECK(got[0].map_id == 7);
    CHECK(got[0].data.empty());
    CHECK(got[0].last);
  }
}

TEST_CASE("small blocks travel together in one chunk, up to the chunk size", "[worker][shuffle]") {
  TempDir dir;
  const std::vector<std::string> blocks = {"aaa", "", "bbb", "ccc", "ddd", "eee"};
  for (int map = 0; map < static_cast<int>(blocks.size()); ++map) {
    WriteMapOutput(dir.path(), "app-1", 0, map, {"x", blocks[static_cast<size_t>(map)]});
  }
  ShuffleBlockServer server({.work_dir = dir.path(), .chunk_size = 10});
  std::vector<Received> got;
  int chunks = 0;
  REQUIRE_OK(Serve(server, Request("app-1", 0, 1, {0, 1, 2, 3, 4, 5}), &got, &chunks));
  // 3 + 0 + 3 + 3 bytes fit in 10; the fourth block of 3 starts the next chunk.
  CHECK(chunks == 2);
  REQUIRE(got.size() == blocks.size());
  for (size_t i = 0; i < blocks.size(); ++i) {
    CHECK(got[i].map_id == static_cast<int>(i));
    CHECK(got[i].data == blocks[i]);
    CHECK(got[i].last);
  }
  CHECK(server.blocks_served() == 6);
  CHECK(server.bytes_served() == 15);
}

TEST_CASE("a large block's last piece carries the small blocks after it", "[worker][shuffle]") {
  TempDir dir;
  WriteMapOutput(dir.path(), "app-1", 0, 0, {"0123456"});
  WriteMapOutput(dir.path(), "app-1", 0, 1, {"ab"});
  WriteMapOutput(dir.path(), "app-1", 0, 2, {"cdefg"});
  ShuffleBlockServer server({.work_dir = dir.path(), .chunk_size = 4});
  std::vector<proto::ShuffleChunk> chunks;
  REQUIRE_OK(server.Serve(Request("app-1", 0, 0, {0, 1, 2}), [&](const proto::ShuffleChunk& c) {
    chunks.push_back(c);
    return absl::OkStatus();
  }));
  // Map 0 as 4 + 3 bytes; map 1's 2 bytes do not fit after the 3 (a chunk of their own),
  // nor do map 2's 5 (4 + 1).
  REQUIRE(chunks.size() == 5);
  CHECK(chunks[0].data() == "0123");
  CHECK_FALSE(chunks[0].last());
  CHECK(chunks[1].data() == "456");
  CHECK(chunks[1].last());
  CHECK(chunks[1].blocks().empty());
  CHECK(chunks[2].map_id() == 1);
  CHECK(chunks[3].data() == "cdef");
  CHECK(chunks[4].data() == "g");

  std::vector<proto::ShuffleChunk> packed;
  REQUIRE_OK(server.Serve(Request("app-1", 0, 0, {2, 1}), [&](const proto::ShuffleChunk& c) {
    packed.push_back(c);
    return absl::OkStatus();
  }));
  // Map 2's last piece ("g") and map 1's whole block fit in one chunk.
  REQUIRE(packed.size() == 2);
  CHECK(packed[1].data() == "g");
  CHECK(packed[1].last());
  REQUIRE(packed[1].blocks_size() == 1);
  CHECK(packed[1].blocks(0).map_id() == 1);
  CHECK(packed[1].blocks(0).data() == "ab");
}

// How many of this process's open files have a path that starts with `prefix` (a
// deleted file's ends in " (deleted)").
int OpenFilesUnder(const std::string& prefix) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    if (std::filesystem::read_symlink(e.path(), ec).string().starts_with(prefix)) ++n;
  }
  return n;
}

TEST_CASE("a map output's data file stays open until it is written again, removed or forgotten",
          "[worker][shuffle]") {
  TempDir dir;
  WriteMapOutput(dir.path(), "app-1", 0, 0, {"old", "x"});
  WriteMapOutput(dir.path(), "app-1", 0, 1, {"one", ""});
  ShuffleBlockServer server({.work_dir = dir.path(), .chunk_size = 100});
  const std::string data = ShuffleDataPath(dir.Sub("app-1"), 0, 0);
  for (int reduce : {0, 1, 0}) {
    std::vector<Received> got;
    REQUIRE_OK(Serve(server, Request("app-1", 0, reduce, {0}), &got));
    REQUIRE(got.size() == 1);
    CHECK(got[0].data == (reduce == 0 ? "old" : "x"));
    CHECK(OpenFilesUnder(data) == 1);  // opened once, kept
  }
  // A retried map task writes the data file, then the index, under new names.
  WriteMapOutput(dir.path(), "app-1", 0, 0, {"new!", "y"});
  std::vector<Received> got;
  REQUIRE_OK(Serve(server, Request("app-1", 0, 0, {0}), &got));
  REQUIRE(got.size() == 1);
  CHECK(got[0].data == "new!");
  CHECK(OpenFilesUnder(data) == 1);  // the new one; the replaced one is closed

  const std::string data1 = ShuffleDataPath(dir.Sub("app-1"), 0, 1);
  REQUIRE_OK(Serve(server, Request("app-1", 0, 0, {1}), &got));
  CHECK(OpenFilesUnder(data1) == 1);
  // A map output removed (its index first) is closed at the next request for it.
  REQUIRE(std::remove(ShuffleIndexPath(dir.Sub("app-1"), 0, 0).c_str()) == 0);
  REQUIRE(std::remove(data.c_str()) == 0);
  CHECK(absl::IsNotFound(Serve(server, Request("app-1", 0, 0, {0}), &got)));
  CHECK(OpenFilesUnder(data) == 0);
  CHECK(OpenFilesUnder(data1) == 1);
  ForgetShuffleFiles(dir.Sub("app-1"));
  CHECK(OpenFilesUnder(data1) == 0);
}

TEST_CASE("a process keeps at most kMaxOpenShuffleFiles map output files open",
          "[worker][shuffle]") {
  TempDir dir;
  const int maps = static_cast<int>(kMaxOpenShuffleFiles) + 40;
  std::vector<int> ids;
  for (int m = 0; m < maps; ++m) {
    WriteMapOutput(dir.path(), "app-1", 0, m, {std::to_string(m)});
    ids.push_back(m);
  }
  ShuffleBlockServer server({.work_dir = dir.path(), .chunk_size = 1 << 20});
  const std::string shuffle_dir = ShuffleDir(dir.Sub("app-1"));
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<Received> got;
    REQUIRE_OK(Serve(server, Request("app-1", 0, 0, ids), &got));
    REQUIRE(got.size() == ids.size());
    for (int m = 0; m < maps; ++m) CHECK(got[static_cast<size_t>(m)].data == std::to_string(m));
    CHECK(OpenFilesUnder(shuffle_dir) > 0);
    CHECK(OpenFilesUnder(shuffle_dir) <= static_cast<int>(kMaxOpenShuffleFiles));
  }
  ForgetShuffleFiles(dir.Sub("app-1"));
  CHECK(OpenFilesUnder(shuffle_dir) == 0);
}

TEST_CASE("no map ids: nothing is sent", "[worker][shuffle]") {
  TempDir dir;
  ShuffleBlockServer server({.work_dir = dir.path(), .chunk_size = 4});
  std::vector<Received> got;
  REQUIRE_OK(Serve(server, Request("app-1", 0, 0, {}), &got));
  CHECK(got.empty());
}

TEST_CASE("missing map outputs are NOT_FOUND naming shuffle and map", "[worker][shuffle]") {
  TempDir dir;
  WriteMapOutput(dir.path(), "app-1", 2, 0, {"abc"});
  ShuffleBlockServer server({.work_dir = dir.path(), .chunk_size = 4});

  SECTION("missing index") {
    std::vector<Received> got;
    absl::Status s = Serve(server, Request("app-1", 2, 0, {0, 5}), &got);
    CHECK(absl::IsNotFound(s));
    CHECK(std::string(s.message()).find("shuffle 2, map 5") != std::string::npos);
    CHECK(got.size() == 1);  // map 0 was sent before the error
  }
  SECTION("missing index after blocks packed together: they are sent, then the error") {
    WriteMapOutput(dir.path(), "app-1", 2, 1, {"d"});
    ShuffleBlockServer packing({.work_dir = dir.path(), .chunk_size = 100});
    std::vector<Received> got;
    int chunks = 0;
    absl::Status s = Serve(packing, Request("app-1", 2, 0, {0, 1, 5}), &got, &chunks);
    CHECK(absl::IsNotFound(s));
    CHECK(std::string(s.message()).find("shuffle 2, map 5") != std::string::npos);
    CHECK(chunks == 1);
    REQUIRE(got.size() == 2);
    CHECK(got[0].data == "abc");
    CHECK(got[1].data == "d");
  }
  SECTION("missing data") {
    REQUIRE(std::remove(ShuffleDataPath(dir.Sub("app-1"), 2, 0).c_str()) == 0);
    std::vector<Received> got;
    absl::Status s = Serve(server, Request("app-1", 2, 0, {0}), &got);
    CHECK(absl::IsNotFound(s));
    CHECK(std::string(s.message()).find("shuffle 2, map 0") != std::string::npos);
  }
  SECTION("unknown app") {
    std::vector<Received> got;
    CHECK(absl::IsNotFound(Serve(server, Request("app-2", 2, 0, {0}), &got)));
  }
  SECTION("truncated data is DATA_LOSS") {
    REQUIRE_OK(WriteFileAtomic(ShuffleDataPath(dir.Sub("app-1"), 2, 0), "a"));
    std::vector<Received> got;
    CHECK(absl::IsDataLoss(Serve(server, Request("app-1", 2, 0, {0}), &got)));
  }
}

TEST_CASE("bad ids are INVALID_ARGUMENT", "[worker][shuffle]") {
  TempDir dir;
  WriteMapOutput(dir.path(), "app-1", 0, 0, {"a", "b"});
  ShuffleBlockServer server({.work_dir = dir.path(), .chunk_size = 4});
  std::vector<Received> got;
  CHECK(absl::IsInvalidArgument(Serve(server, Request("app-1", -1, 0, {0}), &got)));
  CHECK(absl::IsInvalidArgument(Serve(server, Request("app-1", 0, -1, {0}), &got)));
  CHECK(absl::IsInvalidArgument(Serve(server, Request("app-1", 0, 0, {0, -3}), &got)));
  absl::Status out_of_range = Serve(server, Request("app-1", 0, 2, {0}), &got);
  CHECK(absl::IsInvalidArgument(out_of_range));
  CHECK(std::string(out_of_range.message()).find("2 partitions") != std::string::npos);
  CHECK(got.empty());
}

TEST_CASE("app ids cannot escape the work dir", "[worker][shuffle]") {
  TempDir dir;
  // A map output one level above the work dir, reachable only by escaping it.
  const std::string work = dir.Sub("work");
  REQUIRE_OK(MakeDirs(work));
  WriteMapOutput(dir.path(), "secret", 0, 0, {"x"});
  ShuffleBlockServer server({.work_dir = work, .chunk_size = 4});
  std::vector<Received> got;
  for (const char* app : {"..", ".", "", "../secret", "a/b", "/etc"}) {
    INFO("app id " << app);
    CHECK(absl::IsInvalidArgument(Serve(server, Request(app, 0, 0, {0}), &got)));
  }
  CHECK(got.empty());
}

TEST_CASE("a sink error stops the stream", "[worker][shuffle]") {
  TempDir dir;
  WriteMapOutput(dir.path(), "app-1", 0, 0, {std::string(20, 'z')});
  ShuffleBlockServer server({.work_dir = dir.path(), .chunk_size = 4});
  int calls = 0;
  absl::Status s = server.Serve(Request("app-1", 0, 0, {0}), [&](const proto::ShuffleChunk&) {
    ++calls;
    return absl::CancelledError("reducer went away");
  });
  CHECK(absl::IsCancelled(s));
  CHECK(calls == 1);
}

}  // namespace
}  // namespace kiln::worker
