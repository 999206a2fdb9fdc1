#include "runtime/text_input.h"

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "common/strings.h"
#include "tests/kiln_catch.h"
#include "tests/runtime/runtime_test_util.h"

namespace kiln::runtime {
namespace {

using testing::ScratchDir;
using testing::WriteBytes;

// The lines of `text` by the definition: split at '\n', drop one '\r' before each '\n'
// (and at the very end), no empty line after a final '\n'.
std::vector<std::string> ReferenceLines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    size_t end = nl == std::string::npos ? text.size() : nl;
    size_t len = end - start;
    if (len > 0 && text[end - 1] == '\r') --len;
    lines.push_back(text.substr(start, len));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return lines;
}

std::vector<std::string> ReadAll(const std::vector<FileSplit>& splits, int64_t buffer_bytes) {
  std::vector<std::string> lines;
  LineReader reader(buffer_bytes);
  for (const FileSplit& split : splits) {
    REQUIRE(reader.Open(split).ok());
    std::string_view line;
    while (reader.Next(&line)) lines.emplace_back(line);
    REQUIRE(reader.status().ok());
  }
  return lines;
}

std::vector<std::string> SampleTexts() {
  std::vector<std::string> texts = {
      "",
      "a",
      "\n",
      "\n\n",
      "a\nb",
      "a\nb\n",
      "a\r\nb\r\n",
      "\r\n\r\n",
      "ab\r",
      "x\ry\n\rz",
      "\n\nabc\n\n\n",
      std::string(100, 'L') + "\nshort\n" + std::string(70, 'M'),
  };
  std::mt19937 rng(42);
  for (int t = 0; t < 6; ++t) {
    std::string text;
    int lines = 1 + static_cast<int>(rng() % 25);
    for (int i = 0; i < lines; ++i) {
      int len = rng() % 5 == 0 ? 0 : static_cast<int>(rng() % 30);
      if (rng() % 10 == 0) len = 120;  // longer than most splits and the small buffers
      for (int j = 0; j < len; ++j) text.push_back(static_cast<char>('a' + rng() % 26));
      text += rng() % 3 == 0 ? "\r\n" : "\n";
    }
    if (t % 2 == 1) text.pop_back();  // no final newline (or a dangling '\r')
    texts.push_back(text);
  }
  return texts;
}

TEST_CASE("text_input: every split size yields each line exactly once, in order") {
  ScratchDir dir;
  const std::string path = dir.Sub("input.txt");
  int case_no = 0;
  for (const std::string& text : SampleTexts()) {
    WriteBytes(path, text);
    const std::vector<std::string> expected = ReferenceLines(text);
    for (int64_t max = 1; max <= static_cast<int64_t>(text.size()) + 1; ++max) {
      auto splits = ComputeSplits(path, max);
      REQUIRE(splits.ok());
      int64_t covered = 0;
      for (const FileSplit& s : *splits) {
        CHECK(s.start == covered);
        CHECK(s.length > 0);
        CHECK(s.length <= max);
        CHECK(s.file_size == static_cast<int64_t>(text.size()));
        covered += s.length;
      }
      CHECK(covered == static_cast<int64_t>(text.size()));
      for (int64_t buffer : {int64_t{16}, int64_t{61}, int64_t{1} << 20}) {
        INFO("text #" << case_no << " max_partition_bytes " << max << " buffer " << buffer);
        CHECK(ReadAll(*splits, buffer) == expected);
      }
    }
    ++case_no;
  }
}

TEST_CASE("text_input: a big file read through a small buffer") {
  ScratchDir dir;
  std::string text;
  for (int i = 0; i < 20000; ++i) StrAppend(&text, "line number ", i, i % 7 == 0 ? "\r\n" : "\n");
  WriteBytes(dir.Sub("big"), text);
  const std::vector<std::string> expected = ReferenceLines(text);
  for (int64_t max : {int64_t{1000}, int64_t{65536}, int64_t{1} << 30}) {
    auto splits = ComputeSplits(dir.Sub("big"), max);
    REQUIRE(splits.ok());
    CHECK(ReadAll(*splits, 4096) == expected);
  }
}

TEST_CASE("text_input: a directory is its visible files sorted by name") {
  ScratchDir dir;
  WriteBytes(dir.Sub("b.txt"), "b1\nb2\n");
  WriteBytes(dir.Sub("a.txt"), "a1\na2");
  WriteBytes(dir.Sub("empty.txt"), "");
  WriteBytes(dir.Sub(".hidden"), "hidden\n");
  WriteBytes(dir.Sub("_SUCCESS"), "x\n");
  std::filesystem::create_directory(dir.Sub("sub"));
  WriteBytes(dir.Sub("sub/c.txt"), "nested\n");
  auto splits = ComputeSplits(dir.path(), 4);
  REQUIRE(splits.ok());
  REQUIRE(splits->size() == 4);
  CHECK((*splits)[0].path == dir.Sub("a.txt"));
  CHECK((*splits)[1].path == dir.Sub("a.txt"));
  CHECK((*splits)[2].path == dir.Sub("b.txt"));
  CHECK(ReadAll(*splits, 1 << 20) == std::vector<std::string>{"a1", "a2", "b1", "b2"});

  ScratchDir empty;
  auto none = ComputeSplits(empty.path(), 128);
  REQUIRE(none.ok());
  CHECK(none->empty());
}

TEST_CASE("text_input: a missing path and a bad split size are clear errors") {
  ScratchDir dir;
  auto missing = ComputeSplits(dir.Sub("nope.txt"), 100);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  CHECK(View(missing.status().message()) == "input path does not exist: " + dir.Sub("nope.txt"));

  WriteBytes(dir.Sub("f"), "x\n");
  auto zero = ComputeSplits(dir.Sub("f"), 0);
  REQUIRE_FALSE(zero.ok());
  CHECK(View(zero.status().message()).find("kiln.files.maxPartitionBytes") != std::string::npos);

  LineReader reader;
  absl::Status s = reader.Open(FileSplit{dir.Sub("gone"), 0, 10, 10});
  CHECK(s.code() == absl::StatusCode::kNotFound);
  CHECK(View(s.message()).find(dir.Sub("gone")) != std::string::npos);
  std::string_view line;
  CHECK_FALSE(reader.Next(&line));
}

}  // namespace
}  // namespace kiln::runtime
