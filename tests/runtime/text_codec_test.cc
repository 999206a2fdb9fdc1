// gzip and zstd text streams: round trips through small buffers, streams of several
// members or frames, files made by the gzip and zstd tools, and truncated or corrupt
// files named in the error.

#include "runtime/text_codec.h"

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "common/strings.h"
#include "runtime/text_input.h"
#include "tests/kiln_catch.h"
#include "tests/runtime/runtime_test_util.h"

namespace kiln::runtime {
namespace {

using testing::ScratchDir;
using testing::WriteBytes;

// Text that compresses a little: random words over a small alphabet, in lines.
std::string SampleText(size_t bytes, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out;
  while (out.size() < bytes) {
    const size_t word = 1 + rng() % 12;
    for (size_t i = 0; i < word; ++i) out.push_back(static_cast<char>('a' + rng() % 20));
    out.push_back(rng() % 8 == 0 ? '\n' : ' ');
  }
  return out;
}

std::string Compress(TextCompression c, const std::string& text, size_t piece) {
  auto compressor = Compressor::Make(c, "out");
  REQUIRE(compressor.ok());
  std::string out;
  for (size_t at = 0; at < text.size(); at += piece) {
    REQUIRE((*compressor)->Compress(std::string_view(text).substr(at, piece), &out).ok());
  }
  REQUIRE((*compressor)->Finish(&out).ok());
  return out;
}

// Decompresses `data` fed `piece` bytes at a time into an output buffer of `room`.
absl::StatusOr<std::string> Decompress(TextCompression c, const std::string& data, size_t piece,
                                       size_t room) {
  auto d = Decompressor::Make(c, "/in/file");
  if (!d.ok()) return d.status();
  std::string out;
  std::vector<char> buf(room);
  for (size_t at = 0; at < data.size(); at += piece) {
    std::string_view in = std::string_view(data).substr(at, piece);
    while (!in.empty()) {
      absl::StatusOr<size_t> n = (*d)->Decompress(&in, buf.data(), buf.size());
      if (!n.ok()) return n.status();
      out.append(buf.data(), *n);
      if (*n == 0) break;
    }
  }
  // Whatever is still held inside the decompressor.
  for (;;) {
    std::string_view none;
    absl::StatusOr<size_t> n = (*d)->Decompress(&none, buf.data(), buf.size());
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    out.append(buf.data(), *n);
  }
  if (absl::Status s = (*d)->Finish(); !s.ok()) return s;
  return out;
}

TEST_CASE("text codec: gzip and zstd round trips through small buffers", "[text][codec]") {
  for (TextCompression c : {TextCompression::kGzip, TextCompression::kZstd}) {
    INFO("codec " << CompressionExtension(c));
    for (size_t size : {size_t{0}, size_t{1}, size_t{5000}, size_t{3} << 20}) {
      const std::string text = SampleText(size, size);
      const std::string packed = Compress(c, text, 7919);
      if (size > 5000) CHECK(packed.size() < text.size());
      for (auto [piece, room] : {std::pair<size_t, size_t>{1 << 20, 1 << 20}, {13, 7}}) {
        if (size > 5000 && piece < 100) continue;  // a byte at a time over megabytes: slow
        absl::StatusOr<std::string> back = Decompress(c, packed, piece, room);
        INFO("size " << size << " piece " << piece << ": " << back.status().ToString());
        REQUIRE(back.ok());
        CHECK(*back == text);
      }
    }
    // Two streams one after the other (`cat a.gz b.gz`) read as their concatenation.
    const std::string a = SampleText(3000, 1), b = SampleText(2000, 2);
    absl::StatusOr<std::string> both =
        Decompress(c, Compress(c, a, 100) + Compress(c, b, 100), 64, 1000);
    REQUIRE(both.ok());
    CHECK(*both == a + b);
    // Cut short, or corrupt: an error naming the file.
    const std::string packed = Compress(c, SampleText(100000, 3), 4096);
    absl::StatusOr<std::string> cut =
        Decompress(c, packed.substr(0, packed.size() / 2), 4096, 4096);
    REQUIRE_FALSE(cut.ok());
    CHECK(std::string(cut.status().message()).find("/in/file") != std::string::npos);
    std::string corrupt = packed;
    for (size_t i = 20; i < 60; ++i) corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5a);
    CHECK_FALSE(Decompress(c, corrupt, 4096, 4096).ok());
  }
  CHECK(CompressionOfPath("/x/part-00000.gz") == TextCompression::kGzip);
  CHECK(CompressionOfPath("a.zst") == TextCompression::kZstd);
  CHECK(CompressionOfPath("a.gz.txt") == TextCompression::kNone);
}

TEST_CASE("text codec: compressed files are one split each, read line by line", "[text][codec]") {
  ScratchDir dir;
  const std::string text = SampleText(2 << 20, 9) + "last line without newline";
  WriteBytes(dir.Sub("plain.txt"), text);
  // Made by the tools users have, not by Kiln.
  const std::string cmd = StrCat("cd ", dir.path(), " && gzip -c plain.txt > a.gz && zstd -q -c ",
                                 "plain.txt > b.zst && cat a.gz a.gz > twice.gz");
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::vector<std::string> expected;
  {
    auto plain = ComputeSplits(dir.Sub("plain.txt"), 1 << 30);
    REQUIRE(plain.ok());
    LineReader reader;
    REQUIRE(reader.Open(plain->front()).ok());
    std::string_view line;
    while (reader.Next(&line)) expected.emplace_back(line);
  }
  for (const char* name : {"a.gz", "b.zst", "twice.gz"}) {
    INFO(name);
    auto splits = ComputeSplits(dir.Sub(name), 64 << 10);  // smaller than the file
    REQUIRE(splits.ok());
    REQUIRE(splits->size() == 1);
    CHECK(splits->front().start == 0);
    LineReader reader(4096);  // a buffer smaller than the text: many refills
    REQUIRE(reader.Open(splits->front()).ok());
    std::vector<std::string> lines;
    std::string_view line;
    while (reader.Next(&line)) lines.emplace_back(line);
    REQUIRE(reader.status().ok());
    std::vector<std::string> want = expected;
    // Twice: the first copy's last line runs into the second copy's first.
    if (std::string(name) == "twice.gz") {
      want.clear();
      for (size_t i = 0; i + 1 < expected.size(); ++i) want.push_back(expected[i]);
      want.push_back(expected.back() + expected.front());
      for (size_t i = 1; i < expected.size(); ++i) want.push_back(expected[i]);
    }
    CHECK(lines == want);
    CHECK(reader.bytes_read() == splits->front().file_size);  // compressed bytes
  }
  // A truncated file fails its reader, naming the file.
  const std::string cut = StrCat("head -c 5000 ", dir.Sub("a.gz"), " > ", dir.Sub("cut.gz"));
  REQUIRE(std::system(cut.c_str()) == 0);
  auto splits = ComputeSplits(dir.Sub("cut.gz"), 1 << 30);
  REQUIRE(splits.ok());
  LineReader reader;
  REQUIRE(reader.Open(splits->front()).ok());
  std::string_view line;
  while (reader.Next(&line)) {
  }
  REQUIRE_FALSE(reader.status().ok());
  CHECK(std::string(reader.status().message()).find("cut.gz") != std::string::npos);
}

}  // namespace
}  // namespace kiln::runtime
