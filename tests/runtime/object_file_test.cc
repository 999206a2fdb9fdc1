// Object files: every block read exactly once over any cut into splits, and damage
// (a flipped byte, a cut file, another record type) named in the error.

#include "runtime/object_file.h"

#include <filesystem>
#include <string>
#include <vector>

#include "common/codec.h"
#include "tests/kiln_catch.h"
#include "tests/runtime/runtime_test_util.h"

namespace kiln::runtime {
namespace {

using testing::ScratchDir;
using testing::WriteBytes;

// A file of `blocks` blocks; block b holds the records b*1000 .. b*1000 + b (varints).
std::string MakeFile(int blocks, SyncMarker* sync) {
  std::string file = ObjectFileHeader("int64", sync);
  for (int b = 0; b < blocks; ++b) {
    std::string payload;
    Writer w(&payload);
    for (int i = 0; i <= b; ++i) w.PutVarint(static_cast<uint64_t>(b * 1000 + i));
    // Filler that repeats most of the marker, to trip a careless search.
    std::string filler(sync->data(), 15);
    w.PutLengthPrefixed(filler);
    AppendObjectBlock(*sync, payload, static_cast<uint32_t>(b + 1), &file);
  }
  return file;
}

// The first record of each block read from the splits of `path` cut every `split_bytes`.
absl::StatusOr<std::vector<uint64_t>> ReadFirsts(const std::string& path, int64_t split_bytes,
                                                 std::string_view type = "int64") {
  auto splits = ComputeSplits(path, split_bytes);
  if (!splits.ok()) return splits.status();
  std::vector<uint64_t> firsts;
  for (const FileSplit& split : *splits) {
    ObjectBlockReader reader;
    if (absl::Status s = reader.Open(split, type); !s.ok()) return s;
    std::string_view payload;
    uint32_t records = 0;
    while (reader.Next(&payload, &records)) {
      Reader r(payload);
      firsts.push_back(r.GetVarint());
      if (records == 0 || !r.ok()) return absl::InternalError("bad block");
    }
    if (!reader.status().ok()) return reader.status();
  }
  return firsts;
}

TEST_CASE("object file: any cut into splits reads every block once, in order", "[object_file]") {
  ScratchDir dir;
  SyncMarker sync;
  const std::string file = MakeFile(300, &sync);
  WriteBytes(dir.Sub("part-00000"), file);
  std::vector<uint64_t> expected;
  for (uint64_t b = 0; b < 300; ++b) expected.push_back(b * 1000);
  for (int64_t split : {int64_t{1} << 30, int64_t{4096}, int64_t{1000}, int64_t{97}, int64_t{7}}) {
    INFO("split bytes " << split);
    absl::StatusOr<std::vector<uint64_t>> firsts = ReadFirsts(dir.Sub("part-00000"), split);
    REQUIRE(firsts.ok());
    CHECK(*firsts == expected);
  }
  // Two files get different markers.
  SyncMarker other;
  MakeFile(1, &other);
  CHECK(other != sync);
}

TEST_CASE("object file: damage and the wrong type are named", "[object_file]") {
  ScratchDir dir;
  SyncMarker sync;
  std::string file = MakeFile(50, &sync);
  WriteBytes(dir.Sub("good"), file);
  absl::StatusOr<std::vector<uint64_t>> wrong = ReadFirsts(dir.Sub("good"), 1 << 20, "double");
  REQUIRE_FALSE(wrong.ok());
  CHECK(std::string(wrong.status().message()).find("holds records of type int64, not double") !=
        std::string::npos);

  std::string flipped = file;
  flipped[flipped.size() - 3] = static_cast<char>(flipped[flipped.size() - 3] ^ 1);
  WriteBytes(dir.Sub("flipped"), flipped);
  absl::StatusOr<std::vector<uint64_t>> bad = ReadFirsts(dir.Sub("flipped"), 1 << 20);
  REQUIRE_FALSE(bad.ok());
  CHECK(std::string(bad.status().message()).find("checksum") != std::string::npos);
  CHECK(std::string(bad.status().message()).find(dir.Sub("flipped")) != std::string::npos);

  WriteBytes(dir.Sub("cut"), file.substr(0, file.size() - 10));
  CHECK_FALSE(ReadFirsts(dir.Sub("cut"), 1 << 20).ok());
  WriteBytes(dir.Sub("text"), "just some text, no header\n");
  absl::StatusOr<std::vector<uint64_t>> text = ReadFirsts(dir.Sub("text"), 1 << 20);
  REQUIRE_FALSE(text.ok());
  CHECK(std::string(text.status().message()).find("no object file header") != std::string::npos);
}

}  // namespace
}  // namespace kiln::runtime
